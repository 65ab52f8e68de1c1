import { constants, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateZlibInto, InflateError } from './inflate';
import { Rng } from './rng';

function inflate(stream: Uint8Array, limit: number, capacity = limit): Uint8Array {
  const out = new Uint8Array(capacity);
  const produced = inflateZlibInto(stream, out, new DataView(out.buffer), limit);
  return out.subarray(0, produced);
}

function inflateError(stream: Uint8Array, limit: number): InflateError {
  try {
    inflate(stream, limit);
  } catch (e) {
    if (e instanceof InflateError) return e;
    throw e;
  }
  throw new Error('expected an InflateError');
}

/** Rows of RGB pixel runs, some rows repeated, as panoptic PNGs hold (filter bytes included). */
function pixelRuns(rng: Rng, width: number, height: number, bytesPerPixel: number): Uint8Array {
  const stride = 1 + width * bytesPerPixel;
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    if (y > 0 && rng.int(0, 3) === 0) {
      data.copyWithin(y * stride, (y - 1) * stride, y * stride);
      continue;
    }
    for (let x = 0; x < width;) {
      const run = rng.int(1, 40);
      const pixel = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
      for (let end = Math.min(width, x + run); x < end; x++)
        for (let c = 0; c < bytesPerPixel; c++) data[y * stride + 1 + x * bytesPerPixel + c] = pixel[c];
    }
  }
  return data;
}

describe('inflateZlibInto', () => {
  const rng = new Rng(7);
  const cases: [string, Uint8Array][] = [
    ['RGB pixel runs', pixelRuns(rng, 97, 23, 3)],
    ['RGBA pixel runs', pixelRuns(rng, 64, 16, 4)],
    ['one repeated byte (distance 1)', new Uint8Array(5000).fill(9)],
    ['a 2-byte period (distance 2)', Uint8Array.from({ length: 3001 }, (_, i) => (i % 2 ? 200 : 17))],
    ['random bytes (mostly literals)', Uint8Array.from({ length: 4000 }, () => rng.int(0, 255))],
    ['nothing', new Uint8Array(0)],
  ];
  it.each(cases)('gives back %s that node:zlib deflated, at every level and strategy', (_, data) => {
    for (const level of [0, 1, 6, 9])
      for (const strategy of [constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_RLE]) {
        const stream = deflateSync(data, { level, strategy });
        expect(inflate(stream, data.length)).toEqual(data);
      }
  });

  it('joins stored blocks, which split a long run of incompressible data', () => {
    const data = Uint8Array.from({ length: 70000 }, () => rng.int(0, 255));
    expect(inflate(deflateSync(data, { level: 0 }), data.length)).toEqual(data);
  });

  it('writes into reused memory: a smaller stream after a larger one gives back only its own bytes', () => {
    const out = new Uint8Array(1000);
    const view = new DataView(out.buffer);
    inflateZlibInto(deflateSync(new Uint8Array(1000).fill(1)), out, view, 1000);
    expect(inflateZlibInto(deflateSync(Uint8Array.from([5, 6, 7])), out, view, 1000)).toBe(3);
    expect([...out.subarray(0, 4)]).toEqual([5, 6, 7, 1]);
  });

  it('stops at the limit, marking the error as output full', () => {
    const stream = deflateSync(new Uint8Array(1001));
    const error = inflateError(stream, 1000);
    expect(error.outputFull).toBe(true);
    // The memory past the limit is left alone.
    const out = new Uint8Array(2000).fill(3);
    expect(() => inflateZlibInto(stream, out, new DataView(out.buffer), 1000)).toThrow(InflateError);
    expect(out.subarray(1000).every((b) => b === 3)).toBe(true);
  });

  const good = deflateSync(pixelRuns(new Rng(3), 40, 10, 3));
  it.each([
    ['an empty stream', new Uint8Array(0), 'no zlib header'],
    ['a header that is not DEFLATE', Uint8Array.from([0x79, 0x9c, 0, 0]), 'bad zlib header'],
    ['a header whose check fails', Uint8Array.from([0x78, 0x9d, 0, 0]), 'bad zlib header'],
    ['a preset dictionary', Uint8Array.from([0x78, 0xbb, 0, 0, 0, 0]), 'preset dictionary'],
    ['block type 3', Uint8Array.from([0x78, 0x9c, 0x07]), 'block type 3'],
    ['a stream cut short', good.subarray(0, good.length >> 1), 'ends early'],
    ['a stored block whose length check fails', Uint8Array.from([0x78, 0x9c, 0x01, 5, 0, 5, 0]), 'length check'],
    // A fixed block whose first symbol is a match: nothing precedes it to copy from.
    ['a distance before the start', Uint8Array.from([0x78, 0x9c, 0x03, 0x02, 0x00]), 'distance before the start'],
  ])('refuses %s', (_, stream, reason) => {
    const error = inflateError(stream, 1 << 16);
    expect(error.message).toContain(reason);
    expect(error.outputFull).toBe(false);
  });

  it('refuses every truncation of a stream and never writes past the limit (hostile input)', () => {
    for (let cut = 2; cut < good.length - 4; cut += 3) {
      const out = new Uint8Array(500).fill(0xee);
      expect(() => inflateZlibInto(good.subarray(0, cut), out, new DataView(out.buffer), 400)).toThrow(InflateError);
      expect(out.subarray(400).every((b) => b === 0xee)).toBe(true);
    }
  });
});

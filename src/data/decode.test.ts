import { describe, expect, it } from 'vitest';
import { DearliError } from '../core/errors';
import { checkImageIntegrity, decodeMaskPng, encodeIdPng, probeImage, sniffImageType } from './decode';
import { blobOf, customPng, fakeJpeg, fakeWebp, pngHeaderClaiming, rgbPng } from '../../test/dataBuilders';

function errorOf(fn: () => unknown): DearliError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DearliError);
    return e as DearliError;
  }
  throw new Error('expected a DearliError');
}

async function asyncErrorOf(promise: Promise<unknown>): Promise<DearliError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DearliError);
  return e as DearliError;
}

describe('mask PNG decoding', () => {
  it('round-trips ids bit-exactly through an RGB PNG, including ids above 65535', () => {
    const width = 7;
    const height = 5;
    const ids = new Uint32Array(width * height);
    const samples = [0, 1, 255, 256, 65535, 65536, 65537, 101000, 1_000_001, 0xffffff];
    // The edge cases first, then scattered 24-bit ids.
    for (let i = 0; i < ids.length; i++) ids[i] = i < samples.length ? samples[i] : Math.imul(i, 2654435761) >>> 8;
    const decoded = decodeMaskPng(encodeIdPng(ids, width, height), 'm.png');
    expect(decoded.width).toBe(width);
    expect(decoded.height).toBe(height);
    expect(Array.from(decoded.ids)).toEqual(Array.from(ids));
    expect(decoded.colorType).toBe('rgb');
  });

  it('ignores alpha in RGBA masks, as panopticapi does', () => {
    const rgba = Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 255]);
    expect(Array.from(decodeMaskPng(customPng(rgba, 2, 1, 4, 8), 'm.png').ids)).toEqual([
      1 + 2 * 256 + 3 * 65536,
      4 + 5 * 256 + 6 * 65536,
    ]);
  });

  it('expands palette masks (8-bit and packed 2-bit) through the palette to RGB ids', () => {
    const palette = [
      [0, 0, 0],
      [232, 3, 0],
      [1, 2, 3],
    ];
    const eightBit = decodeMaskPng(customPng(Uint8Array.from([0, 1, 2, 1]), 4, 1, 1, 8, palette), 'p.png');
    expect(Array.from(eightBit.ids)).toEqual([0, 1000, 197121, 1000]);
    // 2-bit: 5 pixels per row → 2 bytes per row, MSB first.
    const packed = Uint8Array.from([0b00011001, 0b00000000, 0b10100100, 0b01000000]);
    const twoBit = decodeMaskPng(customPng(packed, 5, 2, 1, 2, palette), 'p2.png');
    expect(Array.from(twoBit.ids)).toEqual([0, 1000, 197121, 1000, 0, 197121, 197121, 1000, 0, 1000]);
  });

  it('reads greyscale as the RGB colour it denotes (id = 65793·v)', () => {
    const grey = decodeMaskPng(customPng(Uint8Array.from([0, 1, 200]), 3, 1, 1, 8), 'g.png');
    expect(Array.from(grey.ids)).toEqual([0, 65793, 200 * 65793]);
    expect(grey.colorType).toBe('grey');
  });

  it('refuses 16-bit masks with the reason and a fix', () => {
    const e = errorOf(() => decodeMaskPng(customPng(Uint16Array.from([1, 2, 3]), 1, 1, 3, 16), 'deep.png'));
    expect(e.code).toBe('mask-16-bit');
    expect(e.file).toBe('deep.png');
    expect(e.message).toMatch(/16-bit.*8-bit RGB/);
  });

  it('refuses JPEG masks, saying why (lossy)', () => {
    const e = errorOf(() => decodeMaskPng(fakeJpeg(4, 4), 'mask.jpg'));
    expect(e.code).toBe('jpeg-mask');
    expect(e.message).toContain('mask.jpg');
    expect(e.problem).toMatch(/lossy/);
  });

  it('detects truncated and bit-flipped mask PNGs', () => {
    const png = encodeIdPng(new Uint32Array(64).fill(70000), 8, 8);
    expect(errorOf(() => decodeMaskPng(png.subarray(0, png.length - 20), 't.png')).code).toBe('corrupt-mask');
    const flipped = png.slice();
    flipped[45] ^= 0x10;
    const e = errorOf(() => decodeMaskPng(flipped, 'f.png'));
    expect(e.code).toBe('corrupt-mask');
    expect(e.problem).toMatch(/CRC/);
  });
});

describe('image probes', () => {
  it('reads type and size from the header of PNG, JPEG and WebP', async () => {
    expect(await probeImage(blobOf(rgbPng(13, 9)), 'a.png')).toEqual({ type: 'png', width: 13, height: 9 });
    expect(await probeImage(blobOf(fakeJpeg(640, 480)), 'a.jpg')).toEqual({ type: 'jpeg', width: 640, height: 480 });
    expect(await probeImage(blobOf(fakeWebp(300, 200)), 'a.webp')).toEqual({ type: 'webp', width: 300, height: 200 });
  });

  it('finds a JPEG frame header behind large metadata segments', async () => {
    expect(await probeImage(blobOf(fakeJpeg(33, 44, { app1Bytes: 65000 })), 'exif.jpg')).toEqual({
      type: 'jpeg',
      width: 33,
      height: 44,
    });
  });

  it('sniffs by content, not extension', () => {
    expect(sniffImageType(rgbPng(1, 1))).toBe('png');
    expect(sniffImageType(fakeJpeg(1, 1))).toBe('jpeg');
    expect(sniffImageType(new TextEncoder().encode('hello world!'))).toBeNull();
  });

  it('refuses images larger than 8192 px on a side', async () => {
    const e = await asyncErrorOf(probeImage(blobOf(pngHeaderClaiming(8193, 100)), 'huge.png'));
    expect(e.code).toBe('image-too-large');
    expect(e.message).toMatch(/huge\.png.*8193×100.*8192/);
  });

  it('refuses files that are not PNG, JPEG or WebP', async () => {
    const e = await asyncErrorOf(probeImage(new Blob(['GIF89a........']), 'anim.gif'));
    expect(e.code).toBe('unsupported-image');
  });
});

describe('image integrity', () => {
  it('accepts complete images', async () => {
    for (const [bytes, name] of [
      [rgbPng(5, 5), 'ok.png'],
      [fakeJpeg(5, 5), 'ok.jpg'],
      [fakeWebp(5, 5), 'ok.webp'],
    ] as const) {
      const blob = blobOf(bytes);
      await expect(checkImageIntegrity(blob, await probeImage(blob, name), name)).resolves.toBeUndefined();
    }
  });

  it('detects a truncated PNG by decoding it', async () => {
    const png = rgbPng(16, 16);
    const blob = blobOf(png.subarray(0, png.length - 30));
    const e = await asyncErrorOf(checkImageIntegrity(blob, await probeImage(blob, 'cut.png'), 'cut.png'));
    expect(e.code).toBe('corrupt-image');
    expect(e.message).toContain('cut.png');
  });

  it('detects a JPEG without its end-of-image marker', async () => {
    const blob = blobOf(fakeJpeg(5, 5, { eoi: false }));
    const e = await asyncErrorOf(checkImageIntegrity(blob, await probeImage(blob, 'cut.jpg'), 'cut.jpg'));
    expect(e.problem).toMatch(/end-of-image/);
  });

  it('detects a JPEG without a frame header', async () => {
    const e = await asyncErrorOf(
      probeImage(blobOf(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xd9])), 'nosof.jpg'),
    );
    expect(e.problem).toMatch(/SOF/);
  });

  it('detects a WebP shorter than its RIFF size', async () => {
    const blob = blobOf(fakeWebp(5, 5, 100));
    const e = await asyncErrorOf(checkImageIntegrity(blob, await probeImage(blob, 'cut.webp'), 'cut.webp'));
    expect(e.problem).toMatch(/RIFF/);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { DearliError } from '../src/core/errors';
import { countPairsOfRows, decodePanopticPng, evaluatePanopticFolders } from '../src/core/panopticFiles';
import { Rng } from '../src/core/rng';
import { decodeMaskPng } from '../src/data/decode';
import { nodeFolder } from './eval';
import { decodeRgbPanopticPng, rgbPanopticPngRowReader } from './panopticPng';

type Filter = 0 | 1 | 2 | 3 | 4;

interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  /** Interleaved 8-bit samples. */
  pixels: Uint8Array;
}

// Adam7 pass origins and steps, written out here again so the test does not trust the decoder's table.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  return toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
}

/** One row filtered as the PNG spec says; `above` is the previous raw row of the same pass (zeros for the first). */
function filterRow(row: Uint8Array, above: Uint8Array, bytesPerPixel: number, filter: Filter): Uint8Array {
  const out = new Uint8Array(row.length + 1);
  out[0] = filter;
  for (let i = 0; i < row.length; i++) {
    const left = i >= bytesPerPixel ? row[i - bytesPerPixel] : 0;
    const upLeft = i >= bytesPerPixel ? above[i - bytesPerPixel] : 0;
    const prediction = [0, left, above[i], (left + above[i]) >> 1, paeth(left, above[i], upLeft)][filter];
    out[i + 1] = (row[i] - prediction) & 255;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function ihdr(width: number, height: number, depth: number, colorType: number, interlace: number): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data.set([depth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

function png(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat([Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks]);
}

/**
 * Encodes a PNG choosing each row's filter (fast-png always writes filter 0), optionally Adam7
 * interlaced, with the compressed data spread over `idatCount` IDAT chunks.
 */
function encodeFiltered(
  image: RawImage,
  filterOf: (pass: number, y: number) => Filter,
  interlaced: boolean,
  idatCount = 1,
): Uint8Array {
  const { width, height, channels, pixels } = image;
  const passes = interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  const rows: Uint8Array[] = [];
  passes.forEach(([x0, y0, xStep, yStep], pass) => {
    const passWidth = Math.ceil((width - x0) / xStep);
    const passHeight = Math.ceil((height - y0) / yStep);
    if (passWidth <= 0 || passHeight <= 0) return;
    let above = new Uint8Array(passWidth * channels);
    for (let y = 0; y < passHeight; y++) {
      const row = new Uint8Array(passWidth * channels);
      for (let x = 0; x < passWidth; x++) {
        const source = ((y0 + y * yStep) * width + x0 + x * xStep) * channels;
        row.set(pixels.subarray(source, source + channels), x * channels);
      }
      rows.push(filterRow(row, above, channels, filterOf(pass, y)));
      above = row;
    }
  });
  const compressed = deflateSync(Buffer.concat(rows));
  const idats = Array.from({ length: idatCount }, (_, i) =>
    chunk(
      'IDAT',
      compressed.subarray(
        Math.floor((i * compressed.length) / idatCount),
        Math.floor(((i + 1) * compressed.length) / idatCount),
      ),
    ),
  );
  return png([
    ihdr(width, height, 8, channels === 4 ? 6 : 2, interlaced ? 1 : 0),
    ...idats,
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Id-map-like pixels: runs copied from the left or from above, and noise, so every Paeth branch is taken. */
function randomImage(rng: Rng, width: number, height: number, channels: 3 | 4): RawImage {
  const pixels = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) {
    const choice = rng.next();
    for (let c = 0; c < channels; c++) {
      const i = p * channels + c;
      if (choice < 0.4 && p % width > 0) pixels[i] = pixels[i - channels];
      else if (choice < 0.6 && p >= width) pixels[i] = pixels[i - width * channels];
      else pixels[i] = rng.int(0, 255);
    }
  }
  return { width, height, channels, pixels };
}

function idsOf({ width, height, channels, pixels }: RawImage): Uint32Array {
  const ids = new Uint32Array(width * height);
  for (let i = 0; i < ids.length; i++)
    ids[i] = pixels[i * channels] + 256 * pixels[i * channels + 1] + 65536 * pixels[i * channels + 2];
  return ids;
}

/**
 * Decodes with the three decoders (node:zlib here, fast-png, and the importer's mask decoder, which
 * unfilters RGB(A) itself) and checks them against each other and against the pixels encoded.
 */
function expectExact(bytes: Uint8Array, image: RawImage): void {
  const ours = decodeRgbPanopticPng(bytes, 'a.png');
  const fastPng = decodePanopticPng(bytes, 'a.png');
  const importer = decodeMaskPng(bytes, 'a.png');
  expect([ours.width, ours.height]).toEqual([image.width, image.height]);
  expect([fastPng.width, fastPng.height]).toEqual([image.width, image.height]);
  expect([importer.width, importer.height, importer.colorType]).toEqual([image.width, image.height, 'rgb']);
  // Compared as bytes: toEqual on 300k-element arrays takes seconds.
  const bytesOf = (ids: Uint32Array) => Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  expect(bytesOf(ours.ids).equals(bytesOf(fastPng.ids)), 'same ids as fast-png').toBe(true);
  expect(bytesOf(importer.ids).equals(bytesOf(fastPng.ids)), 'importer: same ids as fast-png').toBe(true);
  expect(bytesOf(ours.ids).equals(bytesOf(idsOf(image))), 'same ids as encoded').toBe(true);
}

function dearliError(run: () => unknown): DearliError {
  try {
    run();
  } catch (e) {
    if (e instanceof DearliError) return e;
    throw e;
  }
  throw new Error('expected a DearliError');
}

const SIZES = [
  [1, 1],
  [1, 9],
  [9, 1],
  [2, 2],
  [5, 3],
  [7, 13],
  [8, 8],
  [17, 9],
  [33, 31],
  [64, 5],
];

describe('decodeRgbPanopticPng', () => {
  it.each([3, 4] as const)('matches fast-png on its own %i-channel encodings, plain and interlaced', (channels) => {
    const rng = new Rng(channels);
    for (const [width, height] of [...SIZES, [640, 480]]) {
      const image = randomImage(rng, width, height, channels);
      for (const interlace of ['null', 'Adam7'] as const) {
        expectExact(encodePng({ width, height, data: image.pixels, channels, depth: 8 }, { interlace }), image);
      }
    }
  });

  it.each([
    ['None', 0],
    ['Sub', 1],
    ['Up', 2],
    ['Average', 3],
    ['Paeth', 4],
  ] as const)('undoes the %s filter on every row, RGB and RGBA, plain and interlaced', (_, filter) => {
    const rng = new Rng(10 + filter);
    for (const channels of [3, 4] as const) {
      for (const [width, height] of SIZES) {
        const image = randomImage(rng, width, height, channels);
        for (const interlaced of [false, true])
          expectExact(
            encodeFiltered(image, () => filter, interlaced),
            image,
          );
      }
    }
  });

  it('undoes filters mixed row by row over many random images', () => {
    const rng = new Rng(7);
    for (let n = 0; n < 200; n++) {
      const image = randomImage(rng, rng.int(1, 70), rng.int(1, 70), rng.pick([3, 4] as const));
      const bytes = encodeFiltered(image, () => rng.int(0, 4) as Filter, rng.next() < 0.5, rng.int(1, 4));
      expectExact(bytes, image);
    }
  });

  it('counts (gt, pred) pixel pairs row by row as a count over the id maps does', () => {
    const rng = new Rng(11);
    const key = (g: number, p: number) => g * 2 ** 24 + p;
    for (let n = 0; n < 100; n++) {
      const [width, height] = [rng.int(1, 40), rng.int(1, 30)];
      const [gt, pred] = [0, 1].map(() => randomImage(rng, width, height, rng.pick([3, 4] as const)));
      // whole rows repeated, in one map or in both, take the shortcut for a row equal to the one above
      for (const image of rng.next() < 0.5 ? [gt, pred] : [gt]) {
        const rowBytes = width * image.channels;
        for (let y = 1; y < height; y++)
          if (rng.next() < 0.5) image.pixels.copyWithin(y * rowBytes, (y - 1) * rowBytes, y * rowBytes);
      }
      const encode = (image: RawImage) => encodeFiltered(image, () => rng.int(0, 4) as Filter, false);
      const counted = countPairsOfRows(
        rgbPanopticPngRowReader()(encode(gt), 'gt.png')!,
        rgbPanopticPngRowReader()(encode(pred), 'pred.png')!,
      );
      const expected = new Map<number, number>();
      const [gtIds, predIds] = [idsOf(gt), idsOf(pred)];
      gtIds.forEach((g, i) => expected.set(key(g, predIds[i]), (expected.get(key(g, predIds[i])) ?? 0) + 1));
      expect(new Map([...counted].sort((a, b) => a[0] - b[0]))).toEqual(
        new Map([...expected].sort((a, b) => a[0] - b[0])),
      );
    }
  });

  it('counts pairs over long runs, which it compares four pixels at a time, alpha varying inside them', () => {
    const rng = new Rng(12);
    const key = (g: number, p: number) => g * 2 ** 24 + p;
    for (let n = 0; n < 60; n++) {
      const [width, height] = [rng.int(1, 90), rng.int(1, 12)];
      // Rows of runs 1 to 13 pixels long over a few colours, so that runs end at every offset of a
      // four-pixel block and gt and pred runs end apart; alpha, which no id reads, is random.
      const [gt, pred] = [0, 1].map((): RawImage => {
        const channels = rng.pick([3, 4] as const);
        const pixels = new Uint8Array(width * height * channels);
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width;) {
            const colour = [rng.int(0, 2), rng.int(0, 1), rng.int(0, 1)];
            for (const end = Math.min(width, x + rng.int(1, 13)); x < end; x++) {
              const at = (y * width + x) * channels;
              pixels.set(colour, at);
              if (channels === 4) pixels[at + 3] = rng.int(0, 255);
            }
          }
        }
        return { width, height, channels, pixels };
      });
      const counted = countPairsOfRows(
        rgbPanopticPngRowReader()(
          encodeFiltered(gt, () => 0, false),
          'gt.png',
        )!,
        rgbPanopticPngRowReader()(
          encodeFiltered(pred, () => 1, false),
          'pred.png',
        )!,
      );
      const expected = new Map<number, number>();
      const [gtIds, predIds] = [idsOf(gt), idsOf(pred)];
      gtIds.forEach((g, i) => expected.set(key(g, predIds[i]), (expected.get(key(g, predIds[i])) ?? 0) + 1));
      expect(new Map([...counted].sort((a, b) => a[0] - b[0]))).toEqual(
        new Map([...expected].sort((a, b) => a[0] - b[0])),
      );
    }
  });

  it('gives no rows for an interlaced PNG (the evaluator decodes its id map instead)', () => {
    const image = randomImage(new Rng(5), 9, 9, 3);
    expect(
      rgbPanopticPngRowReader()(
        encodeFiltered(image, () => 0, true),
        'a.png',
      ),
    ).toBeNull();
  });

  it('reads image data split over IDAT chunks, an empty one included, with other chunks around', () => {
    const image = randomImage(new Rng(3), 30, 20, 3);
    const plain = encodeFiltered(image, (_, y) => (y % 5) as Filter, false);
    // Cut the single IDAT in two around an empty one, and add a tEXt chunk before it.
    const idatStart = 8 + 25;
    const idatLength = new DataView(plain.buffer, plain.byteOffset).getUint32(idatStart);
    const compressed = plain.subarray(idatStart + 8, idatStart + 8 + idatLength);
    const half = idatLength >> 1;
    const bytes = png([
      plain.subarray(8, idatStart),
      chunk('tEXt', Buffer.from('Comment\0split', 'latin1')),
      chunk('IDAT', compressed.subarray(0, half)),
      chunk('IDAT', new Uint8Array(0)),
      chunk('IDAT', compressed.subarray(half)),
      chunk('IEND', new Uint8Array(0)),
    ]);
    expectExact(bytes, image);
  });

  it('decodes every golden case to the same evaluation as fast-png', async () => {
    const golden = path.resolve(import.meta.dirname, '../test/golden/eval');
    for (const name of readdirSync(golden, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)) {
      const folder = (side: string) =>
        nodeFolder(path.join(golden, name, `${side}.json`), path.join(golden, name, side));
      const withZlib = await evaluatePanopticFolders(folder('gt'), folder('pred'), decodeRgbPanopticPng);
      expect(withZlib).toEqual(await evaluatePanopticFolders(folder('gt'), folder('pred')));
      expect(
        await evaluatePanopticFolders(folder('gt'), folder('pred'), decodeRgbPanopticPng, {
          gt: rgbPanopticPngRowReader(),
          pred: rgbPanopticPngRowReader(),
        }),
      ).toEqual(withZlib);
      const anyPng = readdirSync(path.join(golden, name, 'gt'))[0];
      const bytes = readFileSync(path.join(golden, name, 'gt', anyPng));
      expect(decodeRgbPanopticPng(bytes, anyPng)).toEqual(decodePanopticPng(bytes, anyPng));
    }
  });

  it.each([
    ['a grey PNG', encodePng({ width: 2, height: 1, data: Uint8Array.from([1, 2]), channels: 1, depth: 8 })],
    ['a grey PNG with alpha', encodePng({ width: 1, height: 1, data: Uint8Array.from([1, 2]), channels: 2, depth: 8 })],
    ['a 16-bit PNG', encodePng({ width: 1, height: 1, data: Uint16Array.from([1, 2, 3]), channels: 3, depth: 16 })],
  ])('refuses %s with the words of the fast-png path', (_, bytes) => {
    const error = dearliError(() => decodeRgbPanopticPng(bytes, 'dir/a.png'));
    expect(error.code).toBe('eval-bad-png');
    expect(error.file).toBe('dir/a.png');
    expect(error.message).toBe(dearliError(() => decodePanopticPng(bytes, 'dir/a.png')).message);
  });

  it('refuses a palette PNG', () => {
    const bytes = png([
      ihdr(1, 1, 8, 3, 0),
      chunk('PLTE', Uint8Array.from([1, 2, 3])),
      chunk('IDAT', deflateSync(Uint8Array.from([0, 0]))),
      chunk('IEND', new Uint8Array(0)),
    ]);
    expect(dearliError(() => decodeRgbPanopticPng(bytes, 'a.png')).problem).toBe(
      'is a 8-bit PNG with 1 channel(s) and a palette, not an 8-bit RGB id map',
    );
  });

  const image = randomImage(new Rng(5), 6, 4, 3);
  const good = encodeFiltered(image, () => 1, false);
  const idat = (data: Uint8Array) => png([ihdr(6, 4, 8, 2, 0), chunk('IDAT', data), chunk('IEND', new Uint8Array(0))]);
  const rowsWithFilter = (filter: number) => {
    const rows = new Uint8Array(4 * 19);
    rows[19] = filter;
    return rows;
  };
  it.each([
    ['bytes that are no PNG', Uint8Array.from([1, 2, 3, 4]), 'no PNG signature'],
    ['a file cut short', good.subarray(0, good.length - 20), 'runs past the end'],
    ['a file without IEND', good.subarray(0, good.length - 12), 'ends before its IEND'],
    ['a file without IHDR first', png([chunk('IEND', new Uint8Array(0))]), 'first chunk is not IHDR'],
    ['a file without IDAT', png([ihdr(6, 4, 8, 2, 0), chunk('IEND', new Uint8Array(0))]), 'no IDAT'],
    ['a 0-pixel-wide image', png([ihdr(0, 4, 8, 2, 0), chunk('IEND', new Uint8Array(0))]), '0x4 pixels'],
    ['an unknown interlace method', png([ihdr(6, 4, 8, 2, 2), chunk('IEND', new Uint8Array(0))]), 'interlace method 2'],
    ['corrupt zlib data', idat(Uint8Array.from([1, 2, 3, 4, 5])), 'corrupt image data'],
    [
      'too little image data',
      idat(deflateSync(new Uint8Array(10))),
      'the image data is 10 bytes, a 6x4 image needs 76',
    ],
    ['too much image data', idat(deflateSync(new Uint8Array(77))), 'more image data than a 6x4 image holds'],
    [
      'a header far larger than its image data can inflate to (refused before memory is reserved)',
      png([
        ihdr(2000, 2000, 8, 2, 0),
        chunk('IDAT', deflateSync(new Uint8Array(10))),
        chunk('IEND', new Uint8Array(0)),
      ]),
      'cannot inflate to the 12002000 a 2000x2000 image needs',
    ],
    ['an unknown filter type', idat(deflateSync(rowsWithFilter(5))), 'unknown filter type 5'],
  ])('refuses %s as undecodable, naming the file', (_, bytes, reason) => {
    const error = dearliError(() => decodeRgbPanopticPng(bytes, 'dir/a.png'));
    expect(error.code).toBe('eval-bad-png');
    expect(error.file).toBe('dir/a.png');
    expect(error.problem).toMatch(/^cannot be decoded as PNG \(/);
    expect(error.problem).toContain(reason);
  });
});

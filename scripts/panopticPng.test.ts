import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { DearliError } from '../src/core/errors';
import { countPairsOfRows, decodePanopticPng, evaluatePanopticFolders } from '../src/core/panopticFiles';
import { Rng } from '../src/core/rng';
import { decodeMaskPng } from '../src/data/decode';
import { nodeFolder } from './eval';
import {
  chunk,
  encodeFiltered,
  idsOf,
  ihdr,
  png,
  randomImage,
  type Filter,
  type RawImage,
} from '../test/panopticPngBuilders';
import { decodeRgbPanopticPng, rgbPanopticPngRowReader } from './panopticPng';

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

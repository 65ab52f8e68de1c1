/**
 * Issue 13, dataset files: hostile PNG masks, zip entries, annotation JSON and RLE end in a
 * DearliError naming the file within 2 s and 256 MB of extra memory, before the big allocation.
 */
import { describe, expect, it } from 'vitest';
import { bounded, HOSTILE_BUDGET, idat, ihdr, namedErrorOf, pngChunk, pngOf, rawZip } from '../../test/hostile';
import { decodeMask, normalizeRle } from '../core/rle';
import { decodeMaskPng } from './decode';
import { filesFromZip, readJson } from './files';
import { planImport } from './import';

async function expectRefused(run: () => unknown, file: string, pattern: RegExp): Promise<void> {
  const outcome = await bounded(async () => run());
  const err = namedErrorOf(outcome, file);
  expect(err.message).toMatch(pattern);
  expect(outcome.cpuMs).toBeLessThan(HOSTILE_BUDGET.cpuMs);
  expect(outcome.extraBytes).toBeLessThan(HOSTILE_BUDGET.bytes);
}

/** Raw RGB scanlines of a w×h image (filter byte 0 per row, all samples zero). */
const scanlines = (w: number, h: number) => new Uint8Array(h * (1 + 3 * w));

describe('PNG masks (issue 13)', () => {
  it('stops inflating an IDAT that expands past what its IHDR implies (16 MiB from a 100×100 header)', async () => {
    const bomb = pngOf([ihdr(100, 100), idat(new Uint8Array(16 * 1024 * 1024))]);
    expect(bomb.length).toBeLessThan(40_000);
    await expectRefused(() => decodeMaskPng(bomb, 'bomb.png'), 'bomb.png', /inflates past the 30100 bytes/);
  });

  it('refuses a small IDAT that inflates past its header, inflated in one call into a bounded buffer', async () => {
    const bomb = pngOf([ihdr(64, 64), idat(new Uint8Array(1024 * 1024))]);
    expect(bomb.length * 1032).toBeLessThan(16 * 2 ** 20);
    await expectRefused(() => decodeMaskPng(bomb, 'small-bomb.png'), 'small-bomb.png', /inflates past the 12352 bytes/);
  });

  it('refuses a scanline with an unknown filter type', async () => {
    const raw = Uint8Array.from([0, 1, 0, 0, 2, 0, 0, 5, 1, 0, 0, 2, 0, 0]);
    await expectRefused(
      () => decodeMaskPng(pngOf([ihdr(2, 2), idat(raw)]), 'filter.png'),
      'filter.png',
      /unknown filter type 5/,
    );
  });

  it('refuses a 16384² mask from its header, before decoding', async () => {
    await expectRefused(
      () => decodeMaskPng(pngOf([ihdr(16384, 16384), idat(scanlines(1, 1))]), 'huge.png'),
      'huge.png',
      /16384×16384 px, more than LIMITS\.imageSide/,
    );
  });

  it('compares the mask size with its image before inflating anything', async () => {
    const bomb = pngOf([ihdr(64, 64), idat(new Uint8Array(16 * 1024 * 1024))]);
    await expectRefused(
      () => decodeMaskPng(bomb, 'm.png', { path: 'i.jpg', width: 32, height: 32 }),
      'm.png',
      /the mask is 64×64 px but its image i\.jpg is 32×32/,
    );
  });

  it.each([
    ['a zero width', [ihdr(0, 4), idat(scanlines(0, 4))], /size of 0×4/],
    ['a palette image without PLTE', [ihdr(2, 2, 3), idat(new Uint8Array(6))], /without a PLTE/],
    [
      'a PLTE after the image data',
      [ihdr(2, 2), idat(scanlines(2, 2)), pngChunk('PLTE', new Uint8Array(3))],
      /PLTE after the image data/,
    ],
    [
      'a PLTE in a greyscale image',
      [ihdr(2, 2, 0), pngChunk('PLTE', new Uint8Array(3)), idat(new Uint8Array(6))],
      /PLTE chunk in a greyscale/,
    ],
    [
      'IDAT chunks that are not consecutive',
      [ihdr(2, 2), idat(scanlines(2, 1)), pngChunk('tEXt', new Uint8Array(2)), idat(scanlines(2, 1))],
      /not consecutive/,
    ],
    [
      'a first chunk other than IHDR',
      [pngChunk('tEXt', new Uint8Array(2)), ihdr(2, 2), idat(scanlines(2, 2))],
      /first chunk is tEXt/,
    ],
    ['colour type 2 at bit depth 4', [ihdr(2, 2, 2, 4), idat(scanlines(2, 2))], /colour type 2 with bit depth 4/],
    ['short image data', [ihdr(4, 4), idat(scanlines(4, 3))], /inflates to 39 bytes, a 4×4 image needs 52/],
  ])('refuses %s', async (_what, chunks, pattern) => {
    await expectRefused(() => decodeMaskPng(pngOf(chunks as Uint8Array[]), 'bad.png'), 'bad.png', pattern);
  });

  it('still decodes a well-formed mask (correct data)', () => {
    const raw = Uint8Array.from([0, 1, 0, 0, 2, 0, 0]);
    const decoded = decodeMaskPng(pngOf([ihdr(2, 1), idat(raw)]), 'ok.png');
    expect(Array.from(decoded.ids)).toEqual([1, 2]);
  });
});

describe('dataset zips and annotation JSON (issue 13)', () => {
  it('refuses a 700 MB JSON from a small zip before inflating it, as a forged size and as a real bomb', async () => {
    const forged = rawZip([
      {
        name: 'data/annotations/panoptic_train.json',
        data: new TextEncoder().encode('{}'),
        declaredSize: 700 * 1024 * 1024,
      },
    ]);
    const [f] = await filesFromZip(new Blob([forged as BlobPart]), 'forged.zip');
    await expectRefused(() => readJson(f.file, f.path), f.path, /jsonBytes/);
    const bomb = rawZip([
      { name: 'data/annotations/panoptic_train.json', data: new Uint8Array(32 * 1024 * 1024).fill(0x20) },
    ]);
    expect(bomb.length).toBeLessThan(100_000);
    const [b] = await filesFromZip(new Blob([bomb as BlobPart]), 'bomb.zip');
    await expectRefused(() => readJson(b.file, b.path), 'bomb.zip', /zip bomb.*zipInflateRatio/);
  });

  it('refuses an image entry that inflates past its declared size, during planning, by name', async () => {
    const zip = rawZip([{ name: 'd/0001.png', data: new Uint8Array(8 * 1024 * 1024), declaredSize: 100 }]);
    const outcome = await bounded(async () => planImport([{ path: 'd.zip', file: new Blob([zip as BlobPart]) }]));
    expect(outcome.error).toBeUndefined();
    const messages = outcome.value!.errors.map((e) => `${e.file}: ${e.problem}`).join('\n');
    expect(messages).toMatch(/d\.zip: "d\/0001\.png" (inflates past the 100 bytes|cannot be read)/);
    expect(outcome.cpuMs).toBeLessThan(HOSTILE_BUDGET.cpuMs);
    expect(outcome.extraBytes).toBeLessThan(HOSTILE_BUDGET.bytes);
  });
});

describe('RLE (issue 13)', () => {
  it.each([
    ['null counts', { size: [2, 2], counts: null }, /counts are null/],
    ['raw counts that are not numbers', { size: [2, 2], counts: [1, 'x', 2] }, /invalid count "x"/],
    ['raw counts past h·w', { size: [2, 2], counts: [1, 9] }, /run past the 2×2 = 4 pixels/],
    ['more raw counts than pixels', { size: [1, 1], counts: [0, 0, 0, 1] }, /4 counts, more than its 1×1 pixels allow/],
    ['a compressed string past h·w', { size: [2, 2], counts: '0?' }, /run past/],
    ['a size that is not [h, w]', { size: [2], counts: [2] }, /not \[height, width\]/],
    ['a size over the image limit', { size: [100_000, 100_000], counts: [1e10] }, /LIMITS\.imageSide/],
  ])('refuses %s by name', async (_what, rle, pattern) => {
    await expectRefused(() => normalizeRle(rle as never, 'masks.json'), 'masks.json', pattern);
  });

  it('decodeMask validates first (a named error, not a RangeError) and decodes valid counts', async () => {
    await expectRefused(() => decodeMask({ size: [2, 2], counts: [1, 9] }, 'sam.json'), 'sam.json', /run past/);
    expect(Array.from(decodeMask({ size: [2, 2], counts: [1, 2, 1] }))).toEqual([0, 1, 1, 0]);
  });
});

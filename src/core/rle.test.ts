import { describe, expect, it } from 'vitest';
import { DearliError } from './errors';
import { Rng } from './rng';
import {
  compressCounts,
  decodeMask,
  decompressCounts,
  encodeMask,
  fromCocoRle,
  normalizeRle,
  rleArea,
  rleIou,
  rleToBbox,
  toCocoRle,
} from './rle';

describe('COCO RLE', () => {
  it('scans column-major and starts with a zero run', () => {
    // [[0,1],[1,1]] read down the columns: 0,1 | 1,1 → one zero, three ones
    expect(encodeMask([0, 1, 1, 1], 2, 2).counts).toEqual([1, 3]);
    // first pixel set → leading empty zero run
    expect(encodeMask([1, 0, 0, 0], 2, 2).counts).toEqual([0, 1, 3]);
    // 2x3 mask, column 1 set: 0 0 | 1 1 | 0 0 → [2, 2, 2]
    expect(encodeMask([0, 1, 0, 0, 1, 0], 2, 3).counts).toEqual([2, 2, 2]);
  });

  it('matches strings derived by hand from the pycocotools format', () => {
    // [4]: one group, 4 + 48 = '4'
    expect(compressCounts([4])).toBe('4');
    // [1, 3] → '1', '3'
    expect(compressCounts([1, 3])).toBe('13');
    // [5, 2, 3, 1]: counts from the fourth on are stored as deltas: 1 − 2 = −1 → low 5 bits 31, the shift
    // leaves −1 and the sign bit is set → one group; 31 + 48 = 'O'
    expect(compressCounts([5, 2, 3, 1])).toBe('523O');
    // [100]: 100 = 3·32 + 4 → group 4 with continuation (4|0x20 = 36 → 'T'), then 3 → '3'
    expect(compressCounts([100])).toBe('T3');
    // [16]: 16 has the sign bit set, so a zero group must follow: (16|0x20)+48 = '`', then '0'
    expect(compressCounts([16])).toBe('`0');
    for (const [s, counts] of [
      ['4', [4]],
      ['13', [1, 3]],
      ['523O', [5, 2, 3, 1]],
      ['T3', [100]],
      ['`0', [16]],
    ] as const) {
      expect(decompressCounts(s)).toEqual(counts);
    }
  });

  it('round-trips random masks through both count forms', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const h = 1 + (rng.nextUint32() % 40);
      const w = 1 + (rng.nextUint32() % 40);
      const density = (rng.nextUint32() % 100) / 100;
      const mask = Uint8Array.from({ length: h * w }, () => (rng.nextUint32() / 2 ** 32 < density ? 1 : 0));
      const rle = encodeMask(mask, h, w);
      expect(decodeMask(rle)).toEqual(mask);
      const coco = toCocoRle(rle);
      expect(fromCocoRle(coco).counts).toEqual(rle.counts);
      expect(rleArea(rle)).toBe(mask.reduce((a, b) => a + b, 0));
    }
  });

  it('round-trips large counts and negative deltas through the string form', () => {
    const counts = [1_000_000, 5, 2_000_000, 3, 17];
    expect(decompressCounts(compressCounts(counts))).toEqual(counts);
  });

  it('computes toBbox as pycocotools (inclusive widths, full height for a run that wraps columns)', () => {
    // 4x4, pixels (row 1..2, col 1..2) set
    const mask = new Uint8Array(16);
    for (const [y, x] of [
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ])
      mask[y * 4 + x] = 1;
    expect(rleToBbox(encodeMask(mask, 4, 4))).toEqual([1, 1, 2, 2]);
    // a run from (row 3, col 0) to (row 0, col 1) wraps, so the box spans all rows
    const wrap = new Uint8Array(16);
    wrap[3 * 4 + 0] = 1;
    wrap[0 * 4 + 1] = 1;
    expect(rleToBbox(encodeMask(wrap, 4, 4))).toEqual([0, 0, 2, 4]);
    expect(rleToBbox(encodeMask(new Uint8Array(16), 4, 4))).toEqual([0, 0, 0, 0]);
  });

  it('computes IoU from the runs', () => {
    const a = encodeMask([1, 1, 0, 0, 1, 1, 0, 0, 0], 3, 3);
    const b = encodeMask([0, 1, 1, 0, 1, 1, 0, 0, 0], 3, 3);
    // a = {0,1,4,5}, b = {1,2,4,5}: intersection 3, union 5
    expect(rleIou(a, b)).toBeCloseTo(3 / 5, 12);
    expect(rleIou(a, a)).toBe(1);
    expect(rleIou(encodeMask(new Uint8Array(9), 3, 3), encodeMask(new Uint8Array(9), 3, 3))).toBe(0);
  });

  it('rejects corrupt counts with a DearliError', () => {
    expect(() => normalizeRle({ size: [2, 2], counts: '5' }, 'x.json')).toThrow(DearliError);
    expect(() => normalizeRle({ size: [2, 2], counts: 'T' }, 'x.json')).toThrow(/cannot be decoded/);
    expect(() => normalizeRle({ size: [2, 2], counts: [1, -1, 4] }, 'x.json')).toThrow(/invalid count/);
    expect(normalizeRle({ size: [2, 2], counts: '13' }).counts).toEqual([1, 3]);
  });
});

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { Rng } from '../core/rng';
import { cutmixLabels, drawCutmixBox, pasteBox, UPSTREAM_CUTMIX, type PseudoLabelMap } from './cutmix';

beforeAll(async () => {
  await setupTestBackend();
});

const grid = (rows: string[]) => Int32Array.from(rows.join('').replaceAll(' ', ''), (ch) => Number(ch));

describe('CutMix', () => {
  it("box sampler: inside B's unpadded region, area U(0.02, 0.4)·H·W, aspect in [0.3, 1/0.3], p 0.5", () => {
    const rng = new Rng(9);
    const region = { x0: 5, width: 40, height: 24 };
    let boxes = 0;
    for (let i = 0; i < 2000; i++) {
      const b = drawCutmixBox(rng, region);
      if (!b) continue;
      boxes++;
      expect(b.x).toBeGreaterThanOrEqual(5);
      expect(b.x + b.width).toBeLessThanOrEqual(45);
      expect(b.y).toBeGreaterThanOrEqual(0);
      expect(b.y + b.height).toBeLessThanOrEqual(24);
      // w = int(√(a/r)), h = int(√(a·r)): w·h ≤ a ≤ 0.4·960 = 384 and (w+1)(h+1) > a ≥ 0.02·960 = 19.2.
      expect(b.width * b.height).toBeLessThanOrEqual(384);
      expect((b.width + 1) * (b.height + 1)).toBeGreaterThan(19.2);
      // h/w = r up to the truncations: (h+1)/w ≥ r ≥ 0.3 and h/(w+1) ≤ r ≤ 1/0.3.
      expect((b.height + 1) / b.width).toBeGreaterThanOrEqual(0.3);
      expect(b.height / (b.width + 1)).toBeLessThanOrEqual(1 / 0.3);
    }
    expect(Math.abs(boxes - 1000)).toBeLessThan(90); // Binomial(2000, 0.5): 4σ = 89
  });

  it('a region no box can fit gives no box instead of looping forever (labelled deviation)', () => {
    // 1 row, 1000 columns: area ≥ 0.02·1000 = 20 and r ≥ 0.3 give h = int(√(area·r)) ≥ 2 > 1, so no draw ever fits.
    expect(
      drawCutmixBox(new Rng(1), { x0: 0, width: 1000, height: 1 }, { ...UPSTREAM_CUTMIX, probability: 1 }),
    ).toBeNull();
  });

  it('pastes strong B inside the box only', () => {
    const a = tf.fill([4, 4, 3], 10) as tf.Tensor3D;
    const b = tf.fill([4, 4, 3], 200) as tf.Tensor3D;
    const out = pasteBox(a, b, { y: 1, x: 2, height: 2, width: 1 }).arraySync();
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) expect(out[y][x]).toEqual(new Array(3).fill(y >= 1 && y <= 2 && x === 2 ? 200 : 10));
  });

  it('mixes ids and segments: a thing cut in two, stuff merged across A and B, a fully covered segment dropped', () => {
    // A: things 1 and 2 (class 0), stuff 3 (class 5), stuff 4 (class 6, one column of two pixels).
    const a: PseudoLabelMap = {
      idMap: grid(['111222', '111222', '333333', '333333', '040000', '040000']),
      segments: [
        { id: 1, isthing: true, category_id: 0 },
        { id: 2, isthing: true, category_id: 0 },
        { id: 3, isthing: false, category_id: 5 },
        { id: 4, isthing: false, category_id: 6 },
      ],
    };
    // B: thing 2 (class 1) at the top, stuff 1 (class 5), void at the bottom, and thing 3 (class 1) outside the box.
    const b: PseudoLabelMap = {
      idMap: grid(['222000', '222033', '111111', '111111', '111111', '000000']),
      segments: [
        { id: 1, isthing: false, category_id: 5 },
        { id: 2, isthing: true, category_id: 1 },
        { id: 3, isthing: true, category_id: 1 },
      ],
    };
    // Column 1, all rows: thing 1 of A is cut into columns 0 and 2; A's stuff 4 is covered entirely.
    const mixed = cutmixLabels(a, b, { y: 0, x: 1, height: 6, width: 1 }, 6);
    // max(ids_A) = 4: B's 2 → 6, 1 → 5; B's void stays void.
    expect([...mixed.ids]).toEqual([...grid(['161222', '161222', '353333', '353333', '050000', '000000'])]);
    // A's first (1, 2, 3 + B's merged stuff 5), then B's thing 6; 4 and B's 3 have no pixel left.
    expect([...mixed.targets.classes]).toEqual([0, 0, 5, 1]);
    const plane = (k: number) => [...mixed.targets.masks.subarray(k * 36, (k + 1) * 36)];
    const onlyIds = (...want: number[]) => [...mixed.ids].map((v) => (want.includes(v) ? 1 : 0));
    expect(plane(0)).toEqual(onlyIds(1));
    expect(plane(0).filter((v) => v).length).toBe(4); // two 2-pixel pieces, one mask
    expect(plane(1)).toEqual(onlyIds(2));
    expect(plane(2)).toEqual(onlyIds(3, 5));
    expect(plane(3)).toEqual(onlyIds(6));
    expect(mixed.targets.masks.length).toBe(4 * 36);
  });

  it("without a box the targets are A's own segments", () => {
    const a: PseudoLabelMap = {
      idMap: grid(['12', '20']),
      segments: [
        { id: 1, isthing: true, category_id: 3 },
        { id: 2, isthing: false, category_id: 4 },
      ],
    };
    const mixed = cutmixLabels(a, null, null, 2);
    expect([...mixed.targets.classes]).toEqual([3, 4]);
    expect([...mixed.targets.masks]).toEqual([1, 0, 0, 0, 0, 1, 1, 0]);
  });
});

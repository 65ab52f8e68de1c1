import { describe, expect, it } from 'vitest';
import { DearliError } from './errors';
import type { PanopticImage } from './pq';
import { SemanticEvaluator, semanticGroundTruth } from './semanticIoU';

const CATEGORIES = [{ id: 1 }, { id: 2 }, { id: 10 }];

/** 1×8 ground truth: two void pixels, sky (10), then a crowd of category 1. */
const GT: PanopticImage = {
  ids: Uint32Array.from([0, 0, 5, 5, 5, 5, 7, 7]),
  width: 8,
  height: 1,
  segments: [
    { id: 5, category_id: 10 },
    { id: 7, category_id: 1, iscrowd: 1 },
  ],
  pngFile: 'gt.png',
  jsonFile: 'gt.json',
};

describe('semantic mIoU (detectron2 SemSegEvaluator)', () => {
  it('derives the ground-truth class per pixel: void −1, crowd keeps its category', () => {
    expect(Array.from(semanticGroundTruth(GT, CATEGORIES))).toEqual([-1, -1, 2, 2, 2, 2, 0, 0]);
  });

  it('ignores ground-truth void, counts predictions only on labeled pixels, averages classes present in the ground truth', () => {
    const evaluator = new SemanticEvaluator(CATEGORIES);
    // Class indices: 0 = id 1, 1 = id 2, 2 = id 10. The void pixels predict 1 (id 2): ignored.
    evaluator.addImage(GT, [1, 1, 0, 2, 2, 2, 0, 1]);
    const r = evaluator.summarize();
    // id 1: gt 2, pred 2 (pixels 2 and 6), shared 1 → 1/3. id 10: gt 4, pred 3, shared 3 → 3/4.
    // id 2: no ground truth → null even though pixel 7 predicts it.
    expect(r.per_class).toEqual({ '1': 1 / 3, '2': null, '10': 0.75 });
    expect(r.n).toBe(2);
    expect(r.miou).toBeCloseTo((1 / 3 + 0.75) / 2, 12);
    expect(r.images).toBe(1);
    // Confusion rows are ground truth, columns predictions.
    expect(Array.from(evaluator.confusion)).toEqual([1, 1, 0, 0, 0, 0, 1, 0, 3]);
  });

  it('accumulates over images', () => {
    const evaluator = new SemanticEvaluator(CATEGORIES);
    evaluator.addImage(GT, [0, 0, 2, 2, 2, 2, 0, 0]);
    evaluator.addImage(GT, [0, 0, 0, 0, 0, 0, 0, 0]);
    // id 1: gt 4, pred 4 + 4 = 8, shared 4 → 4/8. id 10: gt 8, pred 4, shared 4 → 4/8.
    expect(evaluator.summarize()).toMatchObject({ miou: 0.5, n: 2, images: 2 });
  });

  it('rejects inconsistent input with a named error', () => {
    const evaluator = new SemanticEvaluator(CATEGORIES);
    expect(() => evaluator.addImage(GT, [0, 0, 0])).toThrow(DearliError);
    expect(() => semanticGroundTruth({ ...GT, ids: Uint32Array.from([0, 9, 5, 5, 5, 5, 7, 7]) }, CATEGORIES)).toThrow(
      /segment id 9 is in the PNG/,
    );
    expect(() => semanticGroundTruth({ ...GT, segments: [{ id: 5, category_id: 3 }] }, CATEGORIES)).toThrow(
      /category_id 3/,
    );
    expect(() => semanticGroundTruth({ ...GT, width: 7 }, CATEGORIES)).toThrow(DearliError);
  });
});

import { describe, expect, it } from 'vitest';
import { panopticInference } from './panopticInference';

const ln = Math.log;

describe('panoptic inference scores', () => {
  it("gives each segment its query's class probability, a merged stuff segment the highest", () => {
    // Classes: 0 thing, 1 stuff; columns [class 0, class 1, no-object].
    // q0 [0, ln 3, 0] → [1/5, 3/5, 1/5]: stuff, 0.6. q1 [0, ln 8, 0] → [1/10, 8/10, 1/10]: stuff, 0.8.
    // q2 [ln 4, 0, 0] → [4/6, 1/6, 1/6]: thing, 2/3. Each mask covers one of three pixels (σ(±10)).
    const classLogits = [0, ln(3), 0, 0, ln(8), 0, ln(4), 0, 0];
    const maskLogits = [10, -10, -10, -10, 10, -10, -10, -10, 10];
    const result = panopticInference(classLogits, maskLogits, 3, 1, 3, { numClasses: 2, isThing: (k) => k === 0 });
    expect([...result.idMap]).toEqual([1, 1, 2]);
    expect(result.segments).toEqual([
      { id: 1, isthing: false, category_id: 1, score: expect.closeTo(0.8, 12) },
      { id: 2, isthing: true, category_id: 0, score: expect.closeTo(2 / 3, 12) },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { PanopticEvaluator, type PanopticImage } from '../core/pq';
import { alphaSweep, SWEEP_ALPHAS, type SweepImage } from './alphaSweep';
import { panopticInference, softmaxRows } from './panopticInference';

// Class 0 = thing (category 1), classes 1 and 2 = stuff (categories 2 and 3).
const categories = [
  { id: 1, isthing: true },
  { id: 2, isthing: false },
  { id: 3, isthing: false },
];
const size = 8;
const pixels = size * size;
const Q = 3;

/** Two 8x8 images: the teacher's masks are the left half, the right half and the whole image. */
function sweepImages(): SweepImage[] {
  const left = (p: number) => p % size < size / 2;
  const maskLogits = new Float32Array(Q * pixels);
  for (let p = 0; p < pixels; p++) {
    maskLogits[p] = left(p) ? 5 : -5;
    maskLogits[pixels + p] = left(p) ? -5 : 5;
    maskLogits[2 * pixels + p] = 1;
  }
  const gt = (rightCategory: number): PanopticImage => ({
    ids: Uint32Array.from({ length: pixels }, (_, p) => (left(p) ? 1 : 2)),
    width: size,
    height: size,
    segments: [
      { id: 1, category_id: 1 },
      { id: 2, category_id: rightCategory },
    ],
  });
  return [
    // The teacher gets the thing right and the stuff wrong (class 2); CLIP the other way round; q2 is void.
    {
      classLogits: [4, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 5],
      clipLogits: [0, 4, 0, 0, 4, 0, 4, 0, 0],
      maskLogits,
      gt: gt(2),
    },
    // Both get the thing right; the teacher narrowly picks the wrong stuff class (1.2 vs 1), CLIP the right one.
    {
      classLogits: [3, 0, 0, 0, 0, 1.2, 1, 0, 0, 0, 0, 5],
      clipLogits: [3, 0, 0, 0, 0, 5, 0, 0, 4],
      maskLogits,
      gt: gt(3),
    },
  ];
}

/** PQ of a per-query class-score table per image, computed without the ensemble. */
function pqOf(images: SweepImage[], scores: (im: SweepImage) => ArrayLike<number>): number {
  const evaluator = new PanopticEvaluator(categories);
  for (const im of images) {
    const r = panopticInference(scores(im), im.maskLogits, Q, size, size, {
      numClasses: 3,
      isThing: (c) => categories[c].isthing,
    });
    evaluator.addImage(im.gt, {
      ids: Uint32Array.from(r.idMap),
      width: size,
      height: size,
      segments: r.segments.map((s) => ({ id: s.id, category_id: categories[s.category_id].id })),
    });
  }
  return evaluator.summarize().pq.All.pq;
}

describe('α sweep', () => {
  it("PQ(α=1) is the teacher alone, PQ(α=0) CLIP classification of the teacher's masks", () => {
    const images = sweepImages();
    const { points, best } = alphaSweep(images, { numQueries: Q, categories });
    expect(points.map((p) => p.alpha)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(SWEEP_ALPHAS).toHaveLength(11);

    // The teacher alone: its raw logits.
    const teacher = pqOf(images, (im) => im.classLogits);
    // CLIP alone: CLIP's class posteriors for the teacher's masks, the teacher's void probability kept.
    const clip = pqOf(images, (im) => {
      const pClip = softmaxRows(im.clipLogits, Q, 3);
      const withVoid = softmaxRows(im.classLogits, Q, 4);
      return Array.from({ length: Q * 4 }, (_, k) => {
        const q = Math.floor(k / 4);
        const c = k % 4;
        const pVoid = withVoid[q * 4 + 3];
        return Math.log(c === 3 ? pVoid : pClip[q * 3 + c] * (1 - pVoid));
      });
    });
    expect(points[10].pq).toBe(teacher);
    expect(points[0].pq).toBe(clip);
    // By hand. Teacher: category 1 two TPs (PQ 1); category 2 a FN (image 1) and a FP (image 2) (PQ 0); category 3
    // a FP (image 1) and a FN (image 2) (PQ 0): 1/3. CLIP: image 1's two halves are both category 2 and merge into
    // one stuff segment of IoU 32/64 = 0.5 (no match: FP + FN), its thing is missed (FN); image 2 is all right:
    // category 1 PQ 1/(1 + 1/2) = 2/3, category 2 0, category 3 1: 5/9.
    expect(teacher).toBeCloseTo(1 / 3, 12);
    expect(clip).toBeCloseTo(5 / 9, 12);
    expect(best.pq).toBe(Math.max(...points.map((p) => p.pq)));
  });
});

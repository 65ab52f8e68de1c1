/**
 * The α sweep (issue #11, beyond the paper's fixed α): from the teacher's cached class logits, CLIP
 * logits of its masks and its mask logits on a set of images with ground truth, the PQ of the
 * ensembled prediction for each α, with the project's evaluator. No decoder runs here.
 */
import type { Category } from '../core/panoptic';
import { PanopticEvaluator, type PanopticImage } from '../core/pq';
import { panopticInference } from './panopticInference';
import { ensemblePosteriors } from './pseudoLabels';

/** α = 0, 0.1, …, 1. */
export const SWEEP_ALPHAS: readonly number[] = Array.from({ length: 11 }, (_, i) => i / 10);

/** One validation image as the teacher saw it, cached once per sweep. */
export interface SweepImage {
  /** [Q, C+1], void last. */
  classLogits: ArrayLike<number>;
  /** [Q, C]: CLIP zero-shot logits of the teacher's masks. */
  clipLogits: ArrayLike<number>;
  /** [Q, H·W] at the ground truth's size. */
  maskLogits: ArrayLike<number>;
  gt: PanopticImage;
}

export interface SweepPoint {
  alpha: number;
  pq: number;
  sq: number;
  rq: number;
}

export interface SweepOptions {
  numQueries: number;
  /** The dataset category of each contiguous class index. */
  categories: readonly Pick<Category, 'id' | 'isthing'>[];
  objectMaskThreshold?: number;
  overlapThreshold?: number;
}

/** PQ/SQ/RQ over all categories (fractions) at each α, and the best α (the first on ties). */
export function alphaSweep(
  images: readonly SweepImage[],
  options: SweepOptions,
  alphas: readonly number[] = SWEEP_ALPHAS,
): { points: SweepPoint[]; best: SweepPoint } {
  const { numQueries, categories } = options;
  const numClasses = categories.length;
  const points = alphas.map((alpha) => {
    const evaluator = new PanopticEvaluator(categories);
    for (const im of images) {
      const scores = ensemblePosteriors(im.classLogits, im.clipLogits, numQueries, numClasses, alpha);
      const r = panopticInference(scores, im.maskLogits, numQueries, im.gt.height, im.gt.width, {
        numClasses,
        isThing: (c) => categories[c].isthing,
        objectMaskThreshold: options.objectMaskThreshold,
        overlapThreshold: options.overlapThreshold,
      });
      evaluator.addImage(im.gt, {
        ids: Uint32Array.from(r.idMap),
        width: im.gt.width,
        height: im.gt.height,
        segments: r.segments.map((s) => ({ id: s.id, category_id: categories[s.category_id].id })),
      });
    }
    const { pq, sq, rq } = evaluator.summarize().pq.All;
    return { alpha, pq, sq, rq };
  });
  const best = points.reduce((a, p) => (p.pq > a.pq ? p : a), points[0]);
  return { points, best };
}

/**
 * mIoU as detectron2's SemSegEvaluator computes it for Mask2Former (method-spec §7): a confusion
 * matrix between ground-truth and predicted classes over the pixels whose ground truth is not void,
 * fed with the semantic-inference labels (argmax over classes of Σ_q softmax(class)·σ(mask)), so
 * every pixel carries a prediction. IoU_c = TP / (GT + Pred − TP) for the classes present in the
 * ground truth; mIoU is their mean.
 */
import { DearliError } from './errors';
import { VOID_ID, type Category } from './panoptic';
import type { PanopticImage } from './pq';

export interface MiouReport {
  miou: number;
  /** Categories present in the ground truth: the ones averaged. */
  n: number;
  /** Keyed by category id; null for categories absent from the ground truth. */
  per_class: Record<string, number | null>;
}

/** Per-class IoU and their mean over the classes with ground-truth pixels. */
export function miouReport(
  categories: readonly Pick<Category, 'id'>[],
  gtPixels: ArrayLike<number>,
  predPixels: ArrayLike<number>,
  intersection: ArrayLike<number>,
): MiouReport {
  const perClass: Record<string, number | null> = {};
  let iouTotal = 0;
  let present = 0;
  categories.forEach((category, c) => {
    if (gtPixels[c] === 0) {
      perClass[category.id] = null;
      return;
    }
    const iou = intersection[c] / (gtPixels[c] + predPixels[c] - intersection[c]);
    perClass[category.id] = iou;
    iouTotal += iou;
    present++;
  });
  return { miou: present === 0 ? 0 : iouTotal / present, n: present, per_class: perClass };
}

/**
 * The ground truth's class index (position in `categories`) per pixel, −1 on void. Crowd regions keep
 * their class, as in the semantic maps Mask2Former derives from COCO panoptic.
 */
export function semanticGroundTruth(gt: PanopticImage, categories: readonly Pick<Category, 'id'>[]): Int32Array {
  const file = gt.pngFile ?? 'ground truth';
  if (gt.ids.length !== gt.width * gt.height) {
    throw new DearliError(
      'eval-bad-map',
      `id map has ${gt.ids.length} pixels, not ${gt.width}x${gt.height}`,
      'Pass one id per pixel.',
      file,
    );
  }
  const classIndex = new Map(categories.map((c, i) => [c.id, i]));
  const classOfSegment = new Map<number, number>([[VOID_ID, -1]]);
  for (const s of gt.segments) {
    const c = classIndex.get(s.category_id);
    if (c === undefined) {
      throw new DearliError(
        'eval-unknown-category',
        `segment ${s.id} of ${file} has category_id ${s.category_id}, which is not among the categories`,
        'Use the category ids of the ground-truth JSON.',
        gt.jsonFile,
      );
    }
    classOfSegment.set(s.id, c);
  }
  const out = new Int32Array(gt.ids.length);
  let lastId = VOID_ID;
  let lastClass = -1;
  for (let i = 0; i < out.length; i++) {
    const id = gt.ids[i];
    if (id !== lastId) {
      const c = classOfSegment.get(id);
      if (c === undefined) {
        throw new DearliError(
          'eval-id-not-in-json',
          `segment id ${id} is in the PNG but not in the segments_info of ${gt.jsonFile ?? 'its annotation'}`,
          'List every non-zero id of the PNG in its annotation, or paint unlabeled pixels black (id 0).',
          file,
        );
      }
      lastId = id;
      lastClass = c;
    }
    out[i] = lastClass;
  }
  return out;
}

/** Streaming semantic-segmentation evaluator: one image at a time, a C×C confusion matrix in between. */
export class SemanticEvaluator {
  private readonly categories: readonly Pick<Category, 'id'>[];
  /** Row = ground-truth class, column = predicted class, in pixels. */
  readonly confusion: Float64Array;
  private imageCount = 0;

  constructor(categories: readonly Pick<Category, 'id'>[]) {
    this.categories = categories;
    this.confusion = new Float64Array(categories.length * categories.length);
  }

  /**
   * `predicted`: the class index (position in `categories`) of every pixel, row-major at the
   * ground truth's size, as semantic inference returns it.
   */
  addImage(gt: PanopticImage, predicted: ArrayLike<number>): void {
    const truth = semanticGroundTruth(gt, this.categories);
    const n = this.categories.length;
    if (predicted.length !== truth.length) {
      throw new DearliError(
        'eval-size-mismatch',
        `semantic prediction has ${predicted.length} pixels but its ground truth is ${gt.width}x${gt.height}`,
        'Predictions must have the ground-truth image size.',
        gt.pngFile,
      );
    }
    for (let i = 0; i < truth.length; i++) {
      const g = truth[i];
      if (g < 0) continue;
      const p = predicted[i];
      if (!(p >= 0 && p < n))
        throw new RangeError(`semantic prediction: class ${p} at pixel ${i} is outside 0..${n - 1}`);
      this.confusion[g * n + p]++;
    }
    this.imageCount++;
  }

  summarize(): MiouReport & { images: number } {
    const n = this.categories.length;
    const gtPixels = new Float64Array(n);
    const predPixels = new Float64Array(n);
    const intersection = new Float64Array(n);
    for (let g = 0; g < n; g++) {
      for (let p = 0; p < n; p++) {
        const v = this.confusion[g * n + p];
        gtPixels[g] += v;
        predPixels[p] += v;
      }
      intersection[g] = this.confusion[g * n + g];
    }
    return { ...miouReport(this.categories, gtPixels, predPixels, intersection), images: this.imageCount };
  }
}

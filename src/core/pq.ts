/**
 * Panoptic quality (PQ/SQ/RQ) and mIoU, computed exactly as COCO panopticapi's evaluation.py does,
 * as a streaming accumulator: the eval CLI and the training worker feed it one image at a time.
 * The mIoU here is read off panoptic maps (all the eval CLI has), so pixels a prediction leaves void
 * are misses; a model's mIoU as the paper reports it comes from semantic inference (semanticIoU.ts).
 */
import { DearliError } from './errors';
import { VOID_ID, type Category, type SegmentInfo } from './panoptic';
import { miouReport, type MiouReport } from './semanticIoU';
import { countPairs, ID_LIMIT, pairKey, type PairCounts } from './pairCounts';

/** One panoptic map with its segment list, as read from a COCO panoptic PNG + JSON annotation. */
export interface PanopticImage {
  /** One segment id per pixel, row-major; 0 is VOID. */
  ids: Uint32Array;
  width: number;
  height: number;
  segments: readonly SegmentInfo[];
  /** Where the map came from, for error messages (a PNG path, or e.g. "prediction for ADE_val_1"). */
  pngFile?: string;
  /** Where the segment list came from, for error messages. */
  jsonFile?: string;
}

/** A panoptic map's segment list and names, without its pixels (which a PairCounter has counted). */
export type PanopticSegmentList = Omit<PanopticImage, 'ids' | 'width' | 'height'>;

interface PqScores {
  pq: number;
  sq: number;
  rq: number;
}

interface PqAverage extends PqScores {
  /** Categories with at least one TP, FP or FN: the ones averaged. */
  n: number;
}

/** Same shape and keys as panopticapi's pq_compute result (fractions, not percent). */
export interface PqReport {
  All: PqAverage;
  Things: PqAverage;
  Stuff: PqAverage;
  /** Keyed by category id; every category, with zeros for those that never occurred. */
  per_class: Record<string, PqScores>;
}

export interface PanopticEvaluation {
  pq: PqReport;
  miou: MiouReport;
  images: number;
  /**
   * Ground-truth segments whose JSON `area` differs from their pixel count. We always use the pixel
   * count; panopticapi uses the JSON area, so its numbers differ from ours when this is non-zero.
   */
  gtAreaMismatches: number;
}

/** Segment ids are 24-bit (RGB); gt and pred ids pack exactly into one double as gt·2^24 + pred. */

export class PanopticEvaluator {
  private readonly categories: readonly Pick<Category, 'id' | 'isthing'>[];
  /** Category id → position in the per-category arrays below. */
  private readonly categoryIndex = new Map<number, number>();
  private readonly tp: Float64Array;
  private readonly fp: Float64Array;
  private readonly fn: Float64Array;
  private readonly iouSum: Float64Array;
  private readonly semanticIntersection: Float64Array;
  private readonly semanticGt: Float64Array;
  private readonly semanticPred: Float64Array;
  private imageCount = 0;
  private gtAreaMismatchCount = 0;

  constructor(categories: readonly Pick<Category, 'id' | 'isthing'>[]) {
    this.categories = categories;
    categories.forEach((c, i) => {
      if (this.categoryIndex.has(c.id)) {
        throw new DearliError(
          'eval-duplicate-category',
          `category id ${c.id} is listed twice`,
          'Give every category a unique id.',
        );
      }
      this.categoryIndex.set(c.id, i);
    });
    const n = categories.length;
    this.tp = new Float64Array(n);
    this.fp = new Float64Array(n);
    this.fn = new Float64Array(n);
    this.iouSum = new Float64Array(n);
    this.semanticIntersection = new Float64Array(n);
    this.semanticGt = new Float64Array(n);
    this.semanticPred = new Float64Array(n);
  }

  /** Adds one ground-truth / prediction pair; throws a DearliError naming the file for inconsistent input. */
  addImage(gt: PanopticImage, pred: PanopticImage): void {
    const gtName = { png: gt.pngFile ?? 'ground truth', json: gt.jsonFile ?? 'ground truth' };
    const predName = { png: pred.pngFile ?? 'prediction', json: pred.jsonFile ?? 'prediction' };
    checkSize(gt, gtName.png);
    checkSize(pred, predName.png);
    if (pred.width !== gt.width || pred.height !== gt.height) {
      throw new DearliError(
        'eval-size-mismatch',
        `prediction is ${pred.width}x${pred.height} but its ground truth ${gtName.png} is ${gt.width}x${gt.height}`,
        'Predictions must have the ground-truth image size.',
        predName.png,
      );
    }
    this.addPairCounts(gt, pred, countPairs(gt.ids, pred.ids, gtName.png, predName.png));
  }

  /**
   * Adds one ground-truth / prediction pair of the same size from the pixel count of every (gt id,
   * pred id) pair, as a PairCounter counts them while the PNG rows are decoded (no id maps needed).
   */
  addPairCounts(gt: PanopticSegmentList, pred: PanopticSegmentList, pairs: PairCounts): void {
    const gtName = { png: gt.pngFile ?? 'ground truth', json: gt.jsonFile ?? 'ground truth' };
    const predName = { png: pred.pngFile ?? 'prediction', json: pred.jsonFile ?? 'prediction' };
    const gtSegments = this.segmentsById(gt.segments, gtName.json, gtName.png);
    const predSegments = this.segmentsById(pred.segments, predName.json, predName.png);

    const pairList = [...pairs].map(([key, pixels]) => {
      const gtId = Math.floor(key / ID_LIMIT);
      return { gtId, predId: key - gtId * ID_LIMIT, pixels };
    });
    const gtArea = new Map<number, number>();
    const predArea = new Map<number, number>();
    for (const { gtId, predId, pixels } of pairList) {
      gtArea.set(gtId, (gtArea.get(gtId) ?? 0) + pixels);
      predArea.set(predId, (predArea.get(predId) ?? 0) + pixels);
    }
    checkIdsAgree(gtArea, gtSegments, gtName);
    checkIdsAgree(predArea, predSegments, predName);
    for (const [id, segment] of gtSegments) {
      if (segment.area !== undefined && segment.area !== gtArea.get(id)) this.gtAreaMismatchCount++;
    }

    // Matches: same category, gt not crowd, IoU > 0.5 with the prediction's VOID pixels left out of the union.
    const gtMatched = new Set<number>();
    const predMatched = new Set<number>();
    for (const { gtId, predId, pixels: intersection } of pairList) {
      if (gtId === VOID_ID || predId === VOID_ID) continue;
      const gtSegment = gtSegments.get(gtId)!;
      const predSegment = predSegments.get(predId)!;
      if (gtSegment.iscrowd === 1 || gtSegment.category_id !== predSegment.category_id) continue;
      const union =
        predArea.get(predId)! + gtArea.get(gtId)! - intersection - (pairs.get(pairKey(VOID_ID, predId)) ?? 0);
      const iou = intersection / union;
      if (iou > 0.5) {
        const c = this.categoryIndex.get(gtSegment.category_id)!;
        this.tp[c]++;
        this.iouSum[c] += iou;
        gtMatched.add(gtId);
        predMatched.add(predId);
      }
    }

    // panopticapi remembers one crowd segment per category: the last one listed.
    const crowdByCategory = new Map<number, number>();
    for (const [gtId, segment] of gtSegments) {
      if (gtMatched.has(gtId)) continue;
      if (segment.iscrowd === 1) crowdByCategory.set(segment.category_id, gtId);
      else this.fn[this.categoryIndex.get(segment.category_id)!]++;
    }

    // An unmatched prediction lying mostly on VOID or on a crowd region of its own category is not an FP.
    for (const [predId, segment] of predSegments) {
      if (predMatched.has(predId)) continue;
      let ignoredPixels = pairs.get(pairKey(VOID_ID, predId)) ?? 0;
      const crowdId = crowdByCategory.get(segment.category_id);
      if (crowdId !== undefined) ignoredPixels += pairs.get(pairKey(crowdId, predId)) ?? 0;
      if (ignoredPixels / predArea.get(predId)! > 0.5) continue;
      this.fp[this.categoryIndex.get(segment.category_id)!]++;
    }

    // Semantic confusion (mIoU): category per pixel; gt VOID is ignored, crowd keeps its category
    // (as the semantic maps that Mask2Former derives from COCO panoptic do); pred VOID is a miss.
    for (const { gtId, predId, pixels } of pairList) {
      if (gtId === VOID_ID) continue;
      const gtClass = this.categoryIndex.get(gtSegments.get(gtId)!.category_id)!;
      this.semanticGt[gtClass] += pixels;
      if (predId === VOID_ID) continue;
      const predClass = this.categoryIndex.get(predSegments.get(predId)!.category_id)!;
      this.semanticPred[predClass] += pixels;
      if (predClass === gtClass) this.semanticIntersection[gtClass] += pixels;
    }
    this.imageCount++;
  }

  summarize(): PanopticEvaluation {
    const perClass: Record<string, PqScores> = {};
    const groups = { All: emptyAverage(), Things: emptyAverage(), Stuff: emptyAverage() };
    this.categories.forEach((category, c) => {
      const tp = this.tp[c];
      const denominator = tp + 0.5 * this.fp[c] + 0.5 * this.fn[c];
      if (denominator === 0) {
        perClass[category.id] = { pq: 0, sq: 0, rq: 0 };
        return;
      }
      const scores = { pq: this.iouSum[c] / denominator, sq: tp === 0 ? 0 : this.iouSum[c] / tp, rq: tp / denominator };
      perClass[category.id] = scores;
      for (const group of [groups.All, category.isthing ? groups.Things : groups.Stuff]) {
        group.pq += scores.pq;
        group.sq += scores.sq;
        group.rq += scores.rq;
        group.n++;
      }
    });

    return {
      pq: { All: mean(groups.All), Things: mean(groups.Things), Stuff: mean(groups.Stuff), per_class: perClass },
      miou: miouReport(this.categories, this.semanticGt, this.semanticPred, this.semanticIntersection),
      images: this.imageCount,
      gtAreaMismatches: this.gtAreaMismatchCount,
    };
  }

  private segmentsById(segments: readonly SegmentInfo[], jsonFile: string, pngFile: string): Map<number, SegmentInfo> {
    const byId = new Map<number, SegmentInfo>();
    for (const segment of segments) {
      if (!Number.isInteger(segment.id) || segment.id <= VOID_ID || segment.id >= ID_LIMIT) {
        throw new DearliError(
          'eval-bad-segment-id',
          `segment id ${segment.id} for ${pngFile} is not an RGB-encodable id (1..${ID_LIMIT - 1}; 0 is VOID)`,
          'Use id = R + 256·G + 256²·B of the segment colour in the PNG.',
          jsonFile,
        );
      }
      if (byId.has(segment.id)) {
        throw new DearliError(
          'eval-duplicate-segment',
          `segment id ${segment.id} is listed twice for ${pngFile}`,
          'Give every segment of an image a unique id.',
          jsonFile,
        );
      }
      if (!this.categoryIndex.has(segment.category_id)) {
        throw new DearliError(
          'eval-unknown-category',
          `segment ${segment.id} of ${pngFile} has category_id ${segment.category_id}, which is not among the ground-truth categories`,
          'Use the category ids of the ground-truth JSON.',
          jsonFile,
        );
      }
      byId.set(segment.id, segment);
    }
    return byId;
  }
}

function checkSize(image: PanopticImage, file: string): void {
  if (image.ids.length !== image.width * image.height) {
    throw new DearliError(
      'eval-bad-map',
      `id map has ${image.ids.length} pixels, not ${image.width}x${image.height}`,
      'Pass one id per pixel.',
      file,
    );
  }
}

function checkIdsAgree(
  area: Map<number, number>,
  segments: Map<number, SegmentInfo>,
  name: { png: string; json: string },
): void {
  for (const id of area.keys()) {
    if (id !== VOID_ID && !segments.has(id)) {
      throw new DearliError(
        'eval-id-not-in-json',
        `segment id ${id} is in the PNG but not in the segments_info of ${name.json}`,
        'List every non-zero id of the PNG in its annotation, or paint unlabeled pixels black (id 0).',
        name.png,
      );
    }
  }
  for (const id of segments.keys()) {
    if (!area.has(id)) {
      throw new DearliError(
        'eval-id-not-in-png',
        `segment id ${id} is listed for ${name.png} but no pixel of that PNG has it`,
        'Remove empty segments from segments_info.',
        name.json,
      );
    }
  }
}

function emptyAverage(): PqAverage {
  return { pq: 0, sq: 0, rq: 0, n: 0 };
}

/** An empty group scores 0 (panopticapi divides by zero there). */
function mean(sum: PqAverage): PqAverage {
  if (sum.n === 0) return sum;
  return { pq: sum.pq / sum.n, sq: sum.sq / sum.n, rq: sum.rq / sum.n, n: sum.n };
}

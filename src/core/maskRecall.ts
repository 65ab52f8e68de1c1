/**
 * Class-agnostic mask recall and average recall (AR), the measure of mask proposals that SAM and the
 * proposal literature report (Hosang et al., "What makes for effective detection proposals?"; COCO's
 * AR): a ground-truth mask is recalled at IoU t when some proposal overlaps it with IoU ≥ t; AR is
 * the recall averaged over t = 0.50, 0.55, …, 0.95. Every proposal is kept (AR@N for N proposals).
 *
 * Recall here takes each ground-truth mask's best IoU over all proposals, with no one-to-one
 * matching: a panoptic ground truth's masks are disjoint, and a proposal with IoU > 0.5 against one
 * of two disjoint masks cannot reach 0.5 against the other, so above 0.5 this equals COCO's matching.
 * As in PQ, pixels the ground truth leaves void (id 0, or a crowd region) count for nothing: they
 * are left out of a proposal's area, and crowd regions are not ground-truth masks.
 */
import { DearliError } from './errors';
import { VOID_ID, type SegmentInfo } from './panoptic';

/** IoU thresholds 0.50:0.05:0.95. */
export const RECALL_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (50 + 5 * i) / 100);

export interface MaskRecallReport {
  /** Recall averaged over RECALL_IOU_THRESHOLDS (fraction 0..1; 0 when there is no ground-truth mask). */
  averageRecall: number;
  /** Recall at each of RECALL_IOU_THRESHOLDS, in order. */
  recall: number[];
  /** Ground-truth masks counted. */
  masks: number;
  images: number;
}

/** One image's ground truth: a panoptic id map and its segments (class ignored). */
export interface RecallGroundTruth {
  ids: Uint32Array;
  segments: readonly SegmentInfo[];
  /** For error messages. */
  file: string;
}

/** Streams images in; `summarize` gives recall at each threshold and AR over all ground-truth masks so far. */
export class MaskRecallEvaluator {
  private readonly bestIous: number[] = [];
  private images = 0;

  /**
   * `proposals`: `count` binary masks (non-zero = inside), each of the image's size, one after the
   * other. A ground-truth id that the segment list does not name is refused.
   */
  addImage(gt: RecallGroundTruth, proposals: Uint8Array, count: number): void {
    const n = gt.ids.length;
    if (proposals.length !== count * n)
      throw new DearliError(
        'recall-size',
        `${count} proposals of ${n} pixels need ${count * n} values, got ${proposals.length}`,
        'Give the proposals at the size of the ground truth.',
        gt.file,
      );
    // Ground-truth index per pixel: 0..S-1 for counted masks, -1 for void and crowd.
    const index = new Map<number, number>();
    const counted = gt.segments.filter((s) => !s.iscrowd);
    counted.forEach((s, i) => index.set(s.id, i));
    const ignored = new Set(gt.segments.filter((s) => s.iscrowd).map((s) => s.id));
    const pixelMask = new Int32Array(n);
    const gtArea = new Float64Array(counted.length);
    for (let p = 0; p < n; p++) {
      const id = gt.ids[p];
      const s = index.get(id);
      if (s !== undefined) {
        pixelMask[p] = s;
        gtArea[s]++;
      } else if (id === VOID_ID || ignored.has(id)) pixelMask[p] = -1;
      else
        throw new DearliError(
          'recall-unknown-segment',
          `the id map holds segment id ${id}, which its segment list does not name`,
          'List every segment of the mask in its annotation.',
          gt.file,
        );
    }
    const best = new Float64Array(counted.length);
    const intersection = new Float64Array(counted.length);
    for (let k = 0; k < count; k++) {
      intersection.fill(0);
      let area = 0;
      const offset = k * n;
      for (let p = 0; p < n; p++) {
        if (proposals[offset + p] === 0) continue;
        const s = pixelMask[p];
        if (s < 0) continue;
        area++;
        intersection[s]++;
      }
      if (area === 0) continue;
      for (let s = 0; s < counted.length; s++) {
        const inter = intersection[s];
        if (inter === 0) continue;
        const iou = inter / (gtArea[s] + area - inter);
        if (iou > best[s]) best[s] = iou;
      }
    }
    for (let s = 0; s < counted.length; s++) if (gtArea[s] > 0) this.bestIous.push(best[s]);
    this.images++;
  }

  summarize(): MaskRecallReport {
    const masks = this.bestIous.length;
    const recall = RECALL_IOU_THRESHOLDS.map((t) =>
      masks === 0 ? 0 : this.bestIous.filter((iou) => iou >= t).length / masks,
    );
    const averageRecall = recall.reduce((a, b) => a + b, 0) / recall.length;
    return { averageRecall, recall, masks, images: this.images };
  }
}

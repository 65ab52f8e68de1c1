/**
 * Automatic mask generation as segment-anything's `SamAutomaticMaskGenerator` with one crop (the
 * whole image): a regular point grid, multimask prediction per point, filtering by predicted IoU and
 * stability score, box NMS scored by predicted IoU, COCO RLE output.
 *
 * GPU budget: the image embedding stays on the GPU for all point batches; masks are upsampled to the
 * original size only for the candidates that pass the IoU filter (the filter does not depend on the
 * masks, so the result is the same as upstream's upsample-all-then-filter), in chunks of bounded size;
 * only binary masks of the survivors are read back, and they are turned into RLE immediately.
 */
import * as tf from '@tensorflow/tfjs';
import { maskRecordFromBinary, type MaskRecord } from '../../core/maskRecord';
import { postprocessMasks } from './postprocess';
import type { SamPredictor } from './sam';

export interface AutoMaskOptions {
  pointsPerSide: number;
  pointsPerBatch: number;
  predIouThresh: number;
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  boxNmsThresh: number;
  /** Largest number of upsampled logit pixels (padded or original size) held at once, 4 bytes each. */
  maxUpsampledPixels: number;
}

/** segment-anything's defaults (automatic_mask_generator.py), as DEARLi's save_sam_masks.py uses them. */
export const DEFAULT_AUTO_MASK_OPTIONS: AutoMaskOptions = {
  pointsPerSide: 32,
  pointsPerBatch: 64,
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  maxUpsampledPixels: 16 * 1024 * 1024,
};

export interface AutoMaskProgress {
  pointsDone: number;
  pointsTotal: number;
  candidates: number;
}

/** `build_point_grid(n)`: cell centres (i + 0.5)/n, x varying fastest; [n²·2] (x, y) in [0, 1]. */
export function buildPointGrid(pointsPerSide: number): Float64Array {
  const offset = 1 / (2 * pointsPerSide);
  const step = pointsPerSide > 1 ? (1 - 2 * offset) / (pointsPerSide - 1) : 0;
  const grid = new Float64Array(pointsPerSide * pointsPerSide * 2);
  for (let row = 0; row < pointsPerSide; row++) {
    for (let col = 0; col < pointsPerSide; col++) {
      grid[(row * pointsPerSide + col) * 2] = offset + col * step;
      grid[(row * pointsPerSide + col) * 2 + 1] = offset + row * step;
    }
  }
  return grid;
}

/** `calculate_stability_score` for one mask: |logits > t + offset| / |logits > t − offset| (0/0 = NaN never passes a threshold, as upstream). */
export function stabilityScore(logits: ArrayLike<number>, maskThreshold: number, offset: number): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > maskThreshold + offset) intersection++;
    if (logits[i] > maskThreshold - offset) union++;
  }
  return intersection / union;
}

/** The same on the GPU for [K, H, W] logits → [K]. */
export function stabilityScores(logits: tf.Tensor3D, maskThreshold: number, offset: number): tf.Tensor1D {
  return tf.tidy(() => {
    const intersection = tf.sum(tf.greater(logits, maskThreshold + offset).toFloat(), [1, 2]);
    const union = tf.sum(tf.greater(logits, maskThreshold - offset).toFloat(), [1, 2]);
    return tf.div(intersection, union) as tf.Tensor1D;
  });
}

/** torchvision `box_iou` for xyxy boxes (no +1; a zero-area pair gives 0/0, which never suppresses). */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return inter / union;
}

/**
 * torchvision `nms`: greedy by descending score (stable on ties), drops boxes with IoU > threshold
 * to a kept one. Returns kept indices in descending score order.
 */
export function boxNms(boxes: readonly (readonly number[])[], scores: readonly number[], iouThreshold: number): number[] {
  const order = scores.map((_, i) => i).sort((i, j) => scores[j] - scores[i] || i - j);
  const suppressed = new Uint8Array(boxes.length);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    keep.push(i);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj];
      if (!suppressed[j] && boxIou(boxes[i], boxes[j]) > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

interface Candidate {
  record: MaskRecord;
  boxXyxy: [number, number, number, number];
}

/**
 * Runs the point grid against the image set on `predictor`. Records come in NMS order (descending
 * predicted IoU), as upstream returns them.
 */
export async function generateSamMasks(
  predictor: SamPredictor,
  options: Partial<AutoMaskOptions> = {},
  signal?: AbortSignal,
  onProgress?: (p: AutoMaskProgress) => void,
): Promise<MaskRecord[]> {
  const opts = { ...DEFAULT_AUTO_MASK_OPTIONS, ...options };
  const embedding = predictor.imageEmbedding;
  const [height, width] = predictor.originalSize;
  const threshold = predictor.model.config.maskThreshold;
  const grid = buildPointGrid(opts.pointsPerSide);
  const total = grid.length / 2;
  const pointsPx = new Float64Array(grid.length);
  for (let i = 0; i < total; i++) {
    pointsPx[2 * i] = grid[2 * i] * width;
    pointsPx[2 * i + 1] = grid[2 * i + 1] * height;
  }
  // masks pass through img_size² (before the crop) and the original size: bound the larger one
  const pixelsPerMask = Math.max(height * width, predictor.imgSize * predictor.imgSize);
  const chunkSize = Math.max(1, Math.floor(opts.maxUpsampledPixels / pixelsPerMask));
  const candidates: Candidate[] = [];

  for (let start = 0; start < total; start += opts.pointsPerBatch) {
    signal?.throwIfAborted();
    const count = Math.min(opts.pointsPerBatch, total - start);
    const batchPx = pointsPx.subarray(2 * start, 2 * (start + count));
    const { lowResLogits, iouPredictions } = tf.tidy(() => {
      const coords = tf.tensor3d(predictor.toModelCoords(batchPx), [count, 1, 2]);
      const labels = tf.ones([count, 1], 'int32') as tf.Tensor2D;
      return predictor.model.decode(embedding, { pointCoords: coords, pointLabels: labels }, true);
    });
    const [, masksPerPoint, lh, lw] = lowResLogits.shape;
    const iou = (await iouPredictions.data()) as Float32Array;
    const passing: number[] = [];
    for (let k = 0; k < iou.length; k++) if (iou[k] > opts.predIouThresh) passing.push(k);
    const flatLogits = lowResLogits.reshape([count * masksPerPoint, lh, lw]);
    tf.dispose([lowResLogits, iouPredictions]);

    for (let c0 = 0; c0 < passing.length; c0 += chunkSize) {
      const chunk = passing.slice(c0, c0 + chunkSize);
      const { scores, binary } = tf.tidy(() => {
        const selected = tf.gather(flatLogits, tf.tensor1d(chunk, 'int32')).expandDims(0) as tf.Tensor4D;
        const full = postprocessMasks(selected, predictor.inputSize, predictor.originalSize, predictor.imgSize).squeeze([0]) as tf.Tensor3D;
        return { scores: stabilityScores(full, threshold, opts.stabilityScoreOffset), binary: tf.greater(full, threshold) };
      });
      const stability = (await scores.data()) as Float32Array;
      const stable = chunk.map((_, i) => i).filter((i) => stability[i] >= opts.stabilityScoreThresh);
      if (stable.length > 0) {
        const kept = tf.tidy(() => tf.gather(binary, tf.tensor1d(stable, 'int32')));
        const bits = (await kept.data()) as Uint8Array;
        kept.dispose();
        stable.forEach((i, n) => {
          const k = chunk[i];
          const point = Math.floor(k / masksPerPoint);
          const mask = bits.subarray(n * height * width, (n + 1) * height * width);
          const record = maskRecordFromBinary(mask, height, width, {
            predicted_iou: iou[k],
            stability_score: stability[i],
            point_coords: [[batchPx[2 * point], batchPx[2 * point + 1]]],
            source: 'sam',
          });
          const [x, y, w, h] = record.bbox;
          candidates.push({ record, boxXyxy: [x, y, x + w, y + h] });
        });
      }
      tf.dispose([scores, binary]);
    }
    flatLogits.dispose();
    onProgress?.({ pointsDone: start + count, pointsTotal: total, candidates: candidates.length });
  }

  const keep = boxNms(candidates.map((c) => c.boxXyxy), candidates.map((c) => c.record.predicted_iou ?? 0), opts.boxNmsThresh);
  return keep.map((i) => candidates[i].record);
}

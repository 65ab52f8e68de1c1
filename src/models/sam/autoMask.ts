/**
 * Automatic mask generation as segment-anything's `SamAutomaticMaskGenerator`: a regular point grid
 * per crop (layer 0 = the whole image, layer i = (2^i)² overlapping crops, each cropped from the
 * original image and encoded on its own), multimask prediction per point, filtering by predicted IoU
 * and stability score, dropping masks cut by a crop edge, box NMS within each crop, NMS across crops
 * preferring smaller crops, optional small-region clean-up, COCO RLE output in full-image frame.
 *
 * GPU budget: one crop's image embedding stays on the GPU for all its point batches and is disposed
 * before the next crop is encoded; masks are upsampled to the crop size only for the candidates that
 * pass the IoU filter (the filter does not depend on the masks, so the result is the same as
 * upstream's upsample-all-then-filter), in chunks of bounded size; only binary masks of the
 * survivors are read back, and they are turned into RLE immediately.
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../../core/errors';
import { maskRecordFromBinary, maskToBox, type MaskRecord } from '../../core/maskRecord';
import { decodeMask, fromCocoRle } from '../../core/rle';
import { removeSmallRegions } from '../../core/smallRegions';
import type { SamConfig } from './config';
import {
  boxNms,
  generateCropBoxes,
  layerPointsPerSide,
  isBoxNearCropEdge,
  nmsAcrossCrops,
  type BoxXyxy,
} from './cropBoxes';
import { postprocessMasks } from './postprocess';
import { SamPredictor, type SamImage } from './sam';

export interface AutoMaskOptions {
  /** Grid points per side of layer 0 (the whole image). */
  pointsPerSide: number;
  pointsPerBatch: number;
  predIouThresh: number;
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  boxNmsThresh: number;
  /** Crop layers beyond the whole image: layer i adds (2^i)² crops. */
  cropNLayers: number;
  /** NMS IoU threshold across crops. */
  cropNmsThresh: number;
  /** Crop overlap as a fraction of the image's short side (at layer 1; halved at each further layer). */
  cropOverlapRatio: number;
  /** Layer i uses pointsPerSide / factor^i points per side. */
  cropNPointsDownscaleFactor: number;
  /** Holes and islands below this many pixels are removed from every mask (0 = off). */
  minMaskRegionArea: number;
  /** Largest number of upsampled logit pixels (padded or crop size) held at once, 4 bytes each. */
  maxUpsampledPixels: number;
}

/** segment-anything's defaults (automatic_mask_generator.py), as DEARLi's save_sam_masks.py uses them. */
const DEFAULT_AUTO_MASK_OPTIONS: AutoMaskOptions = {
  pointsPerSide: 32,
  pointsPerBatch: 64,
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  cropNLayers: 0,
  cropNmsThresh: 0.7,
  cropOverlapRatio: 512 / 1500,
  cropNPointsDownscaleFactor: 1,
  minMaskRegionArea: 0,
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

/** `calculate_stability_score` for one mask: |logits > t + offset| / |logits > t − offset| (0/0 = NaN, which fails every positive threshold, as upstream). */
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

export interface GpuBufferLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/**
 * Bytes of the largest tensor our mask decoder allocates per prompt (float32): the image embedding
 * repeated per prompt (plus dense prompt, keys, keys + PE: h·w·C), the upscaled features (2h·2w·C/4
 * and 4h·4w·C/8), the mask logits of all mask tokens (4h·4w each) and the image→token attention
 * scores (heads · h·w · tokens; tokens = IoU + mask tokens + the point + its padding point).
 */
export function decoderBytesPerPrompt(config: SamConfig): number {
  const [h, w] = config.promptEncoder.imageEmbeddingSize;
  const { transformerDim: c, numHeads, numMultimaskOutputs } = config.maskDecoder;
  const maskTokens = numMultimaskOutputs + 1;
  const tokens = 1 + maskTokens + 2;
  return (
    4 *
    Math.max(
      h * w * c,
      4 * h * w * Math.floor(c / 4),
      16 * h * w * Math.floor(c / 8),
      16 * h * w * maskTokens,
      numHeads * h * w * tokens,
    )
  );
}

/** Most prompts per decoder batch whose largest tensor still fits one GPU buffer binding. */
export function maxPointsPerBatch(limits: GpuBufferLimits, config: SamConfig): number {
  return Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / decoderBytesPerPrompt(config));
}

/**
 * points_per_batch "as fits the GPU": the largest batch up to `cap` (upstream's 64) whose tensors fit
 * the device's buffer limits, rounded down to a multiple of 16 (of 8 below 16) for even workgroups.
 * Without limits (no WebGPU) the cap. Larger batches barely speed up a saturated GPU but multiply its
 * memory use, hence the cap; an explicit larger number is allowed where it fits.
 */
export function autoPointsPerBatch(
  limits: GpuBufferLimits | undefined,
  config: SamConfig,
  cap = DEFAULT_AUTO_MASK_OPTIONS.pointsPerBatch,
): number {
  const n = limits ? Math.min(cap, maxPointsPerBatch(limits, config)) : cap;
  const step = n >= 16 ? 16 : n >= 8 ? 8 : 1;
  return Math.max(1, n - (n % step));
}

interface Candidate {
  record: MaskRecord;
  /** Full-frame box as upstream keeps it (the crop-frame box shifted by the crop origin). */
  boxXyxy: BoxXyxy;
  cropBox: BoxXyxy;
}

/** A copy of the crop's pixels (`image[y0:y1, x0:x1]`). */
function cropImage(image: SamImage, [x0, y0, x1, y1]: BoxXyxy): SamImage {
  const { channels } = image;
  const width = x1 - x0;
  const height = y1 - y0;
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < width * channels; k++)
      pixels[y * width * channels + k] = image.pixels[((y0 + y) * image.width + x0) * channels + k];
  }
  return { pixels, width, height, channels };
}

interface CropRun {
  crop: BoxXyxy;
  pointsPerSide: number;
  imageHeight: number;
  imageWidth: number;
  opts: AutoMaskOptions;
  signal?: AbortSignal;
  /** Called after each batch with the points it ran and the candidates kept so far in this crop. */
  onBatch: (points: number, candidates: number) => void;
}

/**
 * `_process_crop` against the crop image already set on the predictor: the crop's point grid in
 * batches, the IoU / stability / crop-edge filters, RLE in full-image frame, then box NMS within the
 * crop. Returns the survivors in NMS order.
 */
async function cropCandidates(predictor: SamPredictor, run: CropRun): Promise<Candidate[]> {
  const { crop, opts, imageHeight, imageWidth } = run;
  const [cropX0, cropY0] = crop;
  const [height, width] = predictor.originalSize;
  const isWholeImage = height === imageHeight && width === imageWidth;
  const imageBox = [0, 0, imageWidth, imageHeight];
  const threshold = predictor.model.config.maskThreshold;
  const grid = buildPointGrid(run.pointsPerSide);
  const total = grid.length / 2;
  const pointsPx = new Float64Array(grid.length);
  for (let i = 0; i < total; i++) {
    pointsPx[2 * i] = grid[2 * i] * width;
    pointsPx[2 * i + 1] = grid[2 * i + 1] * height;
  }
  // masks pass through img_size² (before the crop) and the crop size: bound the larger one
  const pixelsPerMask = Math.max(height * width, predictor.imgSize * predictor.imgSize);
  const chunkSize = Math.max(1, Math.floor(opts.maxUpsampledPixels / pixelsPerMask));
  // one reusable full-frame mask for the RLE of a cropped mask (uncrop_masks pads with zeros)
  const fullMask = isWholeImage ? null : new Uint8Array(imageHeight * imageWidth);
  const candidates: Candidate[] = [];

  for (let start = 0; start < total; start += opts.pointsPerBatch) {
    run.signal?.throwIfAborted();
    const count = Math.min(opts.pointsPerBatch, total - start);
    const batchPx = pointsPx.subarray(2 * start, 2 * (start + count));
    const { lowResLogits, iouPredictions } = tf.tidy(() => {
      const coords = tf.tensor3d(predictor.toModelCoords(batchPx), [count, 1, 2]);
      const labels = tf.ones([count, 1], 'int32') as tf.Tensor2D;
      return predictor.model.decode(predictor.imageEmbedding, { pointCoords: coords, pointLabels: labels }, true);
    });
    const [, masksPerPoint, lh, lw] = lowResLogits.shape;
    const iou = (await iouPredictions.data()) as Float32Array;
    // upstream applies each threshold only when it is positive (a 0 stability threshold keeps NaN scores too)
    const passing: number[] = [];
    for (let k = 0; k < iou.length; k++) if (!(opts.predIouThresh > 0) || iou[k] > opts.predIouThresh) passing.push(k);
    const flatLogits = lowResLogits.reshape([count * masksPerPoint, lh, lw]);
    tf.dispose([lowResLogits, iouPredictions]);

    for (let c0 = 0; c0 < passing.length; c0 += chunkSize) {
      const chunk = passing.slice(c0, c0 + chunkSize);
      const { scores, binary } = tf.tidy(() => {
        const selected = tf.gather(flatLogits, tf.tensor1d(chunk, 'int32')).expandDims(0) as tf.Tensor4D;
        const full = postprocessMasks(selected, predictor.inputSize, predictor.originalSize, predictor.imgSize).squeeze(
          [0],
        ) as tf.Tensor3D;
        return {
          scores: stabilityScores(full, threshold, opts.stabilityScoreOffset),
          binary: tf.greater(full, threshold),
        };
      });
      const stability = (await scores.data()) as Float32Array;
      const stable = chunk
        .map((_, i) => i)
        .filter((i) => !(opts.stabilityScoreThresh > 0) || stability[i] >= opts.stabilityScoreThresh);
      if (stable.length > 0) {
        const kept = tf.tidy(() => tf.gather(binary, tf.tensor1d(stable, 'int32')));
        const bits = (await kept.data()) as Uint8Array;
        kept.dispose();
        stable.forEach((i, n) => {
          const mask = bits.subarray(n * height * width, (n + 1) * height * width);
          const [bx0, by0, bx1, by1] = maskToBox(mask, height, width);
          const boxXyxy: BoxXyxy = [bx0 + cropX0, by0 + cropY0, bx1 + cropX0, by1 + cropY0];
          if (isBoxNearCropEdge(boxXyxy, crop, imageBox)) return;
          let frameMask: Uint8Array = mask;
          if (fullMask) {
            fullMask.fill(0);
            for (let y = 0; y < height; y++)
              fullMask.set(mask.subarray(y * width, (y + 1) * width), (cropY0 + y) * imageWidth + cropX0);
            frameMask = fullMask;
          }
          const k = chunk[i];
          const point = Math.floor(k / masksPerPoint);
          const record = maskRecordFromBinary(frameMask, imageHeight, imageWidth, {
            predicted_iou: iou[k],
            stability_score: stability[i],
            point_coords: [[batchPx[2 * point] + cropX0, batchPx[2 * point + 1] + cropY0]],
            source: 'sam',
          });
          record.crop_box = [cropX0, cropY0, crop[2] - cropX0, crop[3] - cropY0];
          candidates.push({ record, boxXyxy, cropBox: crop });
        });
      }
      tf.dispose([scores, binary]);
    }
    flatLogits.dispose();
    run.onBatch(count, candidates.length);
  }

  const keep = boxNms(
    candidates.map((c) => c.boxXyxy),
    candidates.map((c) => c.record.predicted_iou ?? 0),
    opts.boxNmsThresh,
  );
  return keep.map((i) => candidates[i]);
}

/**
 * `postprocess_small_regions`: fill small holes, then drop small islands, in every mask; masks that
 * changed score 0 and the others 1, so that box NMS (on boxes of the cleaned masks) prefers masks
 * that needed no clean-up. Changed survivors get their new RLE, area and box.
 */
export function postprocessSmallRegions(
  records: readonly MaskRecord[],
  minArea: number,
  nmsThresh: number,
): MaskRecord[] {
  const cleaned: (MaskRecord | null)[] = [];
  const boxes: BoxXyxy[] = [];
  for (const record of records) {
    const [height, width] = record.segmentation.size;
    const holes = removeSmallRegions(decodeMask(fromCocoRle(record.segmentation)), height, width, minArea, 'holes');
    const islands = removeSmallRegions(holes.mask, height, width, minArea, 'islands');
    boxes.push(maskToBox(islands.mask, height, width));
    const changed = holes.changed || islands.changed;
    const { predicted_iou, stability_score, point_coords, source, crop_box } = record;
    cleaned.push(
      changed
        ? {
            ...maskRecordFromBinary(islands.mask, height, width, {
              predicted_iou,
              stability_score,
              point_coords,
              source,
            }),
            crop_box,
          }
        : null,
    );
  }
  const keep = boxNms(
    boxes,
    cleaned.map((c) => (c ? 0 : 1)),
    nmsThresh,
  );
  return keep.map((i) => cleaned[i] ?? records[i]);
}

/**
 * Runs the automatic mask generator on the image set on `predictor` (by setImage). The whole-image
 * crop uses the predictor's embedding as it is; each further crop is cut from the pixels the
 * predictor was given and encoded by a second predictor, one crop at a time. The predictor keeps its
 * image. Records come in upstream's order: NMS order (descending predicted IoU) with one crop,
 * smaller crops first with several, masks that needed no small-region clean-up first when it is on.
 */
export async function generateSamMasks(
  predictor: SamPredictor,
  options: Partial<AutoMaskOptions> = {},
  signal?: AbortSignal,
  onProgress?: (p: AutoMaskProgress) => void,
): Promise<MaskRecord[]> {
  const opts = { ...DEFAULT_AUTO_MASK_OPTIONS, ...options };
  if (!(Number.isInteger(opts.pointsPerBatch) && opts.pointsPerBatch >= 1)) {
    throw new DearliError(
      'mask-settings',
      `points per batch must be a whole number of at least 1, got ${opts.pointsPerBatch}`,
      'Correct the value and run again.',
    );
  }
  const [imageHeight, imageWidth] = predictor.originalSize;
  const crops = generateCropBoxes(imageHeight, imageWidth, opts.cropNLayers, opts.cropOverlapRatio);
  const image = predictor.sourceImage;
  if (crops.length > 1 && !image) {
    throw new DearliError(
      'sam-crops',
      'crop layers need the original pixels, but the image was set already resized',
      'Set the image with setImage, or use no crop layers.',
    );
  }
  const perSide = layerPointsPerSide(opts.pointsPerSide, opts.cropNLayers, opts.cropNPointsDownscaleFactor);
  const pointsTotal = crops.reduce((n, c) => n + perSide[c.layer] ** 2, 0);
  let pointsDone = 0;
  let candidates: Candidate[] = [];
  const cropPredictor = new SamPredictor(predictor.model);
  try {
    for (const { box, layer } of crops) {
      signal?.throwIfAborted();
      // a layer downscaled to no points has nothing to prompt: its crops are not even encoded
      if (perSide[layer] === 0) continue;
      let runOn = predictor;
      if (layer > 0) {
        const crop = cropImage(image!, box);
        cropPredictor.setImage(crop.pixels, crop.width, crop.height, crop.channels);
        runOn = cropPredictor;
      }
      const before = candidates.length;
      const found = await cropCandidates(runOn, {
        crop: box,
        pointsPerSide: perSide[layer],
        imageHeight,
        imageWidth,
        opts,
        signal,
        onBatch: (points, inCrop) => {
          pointsDone += points;
          onProgress?.({ pointsDone, pointsTotal, candidates: before + inCrop });
        },
      });
      // the crop's embedding leaves the GPU before the next crop is encoded
      cropPredictor.resetImage();
      candidates = candidates.concat(found);
    }
  } finally {
    cropPredictor.resetImage();
  }

  if (crops.length > 1) {
    candidates = nmsAcrossCrops(
      candidates.map((c) => c.boxXyxy),
      candidates.map((c) => c.cropBox),
      opts.cropNmsThresh,
    ).map((i) => candidates[i]);
  }
  const records = candidates.map((c) => c.record);
  if (opts.minMaskRegionArea > 0)
    return postprocessSmallRegions(records, opts.minMaskRegionArea, Math.max(opts.boxNmsThresh, opts.cropNmsThresh));
  return records;
}

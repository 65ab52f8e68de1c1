import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { maskRecordFromBinary, maskToBox } from '../../core/maskRecord';
import { decodeMask, fromCocoRle } from '../../core/rle';
import {
  autoPointsPerBatch,
  buildPointGrid,
  decoderBytesPerPrompt,
  maxPointsPerBatch,
  postprocessSmallRegions,
  stabilityScore,
  stabilityScores,
} from './autoMask';
import { boxIou, boxNms, generateCropBoxes, isBoxNearCropEdge, layerPointsPerSide, nmsAcrossCrops } from './cropBoxes';
import { samPreset } from './config';

beforeAll(async () => {
  await setupTestBackend();
});

describe('automatic mask generation helpers', () => {
  it('builds the point grid as build_point_grid (cell centres, x fastest)', () => {
    expect(Array.from(buildPointGrid(2))).toEqual([0.25, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75, 0.75]);
    const g = buildPointGrid(32);
    expect(g.length).toBe(32 * 32 * 2);
    expect(g[0]).toBeCloseTo(1 / 64, 15);
    expect(g[2]).toBeCloseTo(3 / 64, 15);
    expect(g[2 * 32 + 1]).toBeCloseTo(3 / 64, 15);
    expect(g[g.length - 1]).toBeCloseTo(63 / 64, 15);
  });

  it('computes the stability score from the two offset thresholds', () => {
    // threshold 0, offset 1: above +1 → {2, 1.5} = 2 pixels; above −1 → {2, 1.5, 0.5, −0.5} = 4 pixels
    const logits = [2, 1.5, 0.5, -0.5, -1, -3];
    expect(stabilityScore(logits, 0, 1)).toBe(2 / 4);
    // strict comparisons: exactly 1 is not above 1, exactly −1 is not above −1
    expect(stabilityScore([1, -1, 3], 0, 1)).toBe(1 / 2);
    expect(Number.isNaN(stabilityScore([-5, -5], 0, 1))).toBe(true);
  });

  it('computes the same stability scores on the backend', async () => {
    const logits = tf.tensor3d([2, 1.5, 0.5, -0.5, 1, -1, 3, -2], [2, 2, 2]);
    const scores = stabilityScores(logits, 0, 1);
    expect(Array.from(await scores.data())).toEqual([2 / 4, 1 / 2]);
    tf.dispose([logits, scores]);
  });

  it('takes boxes from masks as batched_mask_to_box (inclusive max, empty → zeros)', () => {
    // 3x4 mask with pixels (row 0, col 1) and (row 2, col 2)
    const mask = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    expect(maskToBox(mask, 3, 4)).toEqual([1, 0, 2, 2]);
    expect(maskToBox(new Uint8Array(12), 3, 4)).toEqual([0, 0, 0, 0]);
    const record = maskRecordFromBinary(mask, 3, 4, {
      predicted_iou: 0.9,
      stability_score: 0.97,
      point_coords: [[1, 1]],
      source: 'sam',
    });
    // xywh without +1, as segment-anything's box_xyxy_to_xywh
    expect(record.bbox).toEqual([1, 0, 1, 2]);
    expect(record.area).toBe(2);
    expect(record.crop_box).toEqual([0, 0, 4, 3]);
    expect(Array.from(decodeMask(fromCocoRle(record.segmentation)))).toEqual(mask);
  });

  it('computes box IoU as torchvision (no +1)', () => {
    // [0,0,2,2] and [1,1,3,3]: intersection 1, union 4 + 4 − 1 = 7
    expect(boxIou([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / 7, 15);
    expect(boxIou([0, 0, 2, 2], [5, 5, 6, 6])).toBe(0);
  });

  it('suppresses by box NMS in descending score order with a strict IoU threshold', () => {
    const boxes = [
      [0, 0, 10, 10], // score 0.90
      [1, 0, 11, 10], // IoU with box 0 = 90/110 = 0.818 → suppressed at 0.7
      [0, 0, 10, 7], //  IoU with box 0 = 70/100 = 0.7 exactly → kept (not > 0.7)
      [20, 20, 30, 30], // disjoint
    ];
    const scores = [0.9, 0.95, 0.89, 0.5];
    // box 1 has the highest score, so it suppresses box 0 (IoU 0.818); box 2 vs box 1: 63/107 = 0.589 → kept
    expect(boxNms(boxes, scores, 0.7)).toEqual([1, 2, 3]);
    expect(boxNms(boxes, [0.95, 0.9, 0.89, 0.5], 0.7)).toEqual([0, 2, 3]);
  });
});

describe('crops (generate_crop_boxes, build_all_layer_point_grids, is_box_near_crop_edge)', () => {
  it('gives only the whole image with no crop layers', () => {
    expect(generateCropBoxes(40, 56, 0, 512 / 1500)).toEqual([{ box: [0, 0, 56, 40], layer: 0 }]);
  });

  it('computes the crop boxes of a 56×40 image with one layer by the upstream formulas', () => {
    // short side 40: overlap = int(512/1500 · 40 · 2/2) = int(13.65) = 13
    // crop_w = ceil((13·1 + 56) / 2) = ceil(34.5) = 35, crop_h = ceil((13 + 40) / 2) = ceil(26.5) = 27
    // x0 = (35 − 13)·i = 0, 22; y0 = (27 − 13)·j = 0, 14; x0 varies slowest (itertools.product)
    expect(generateCropBoxes(40, 56, 1, 512 / 1500)).toEqual([
      { box: [0, 0, 56, 40], layer: 0 },
      { box: [0, 0, 35, 27], layer: 1 },
      { box: [0, 14, 35, 40], layer: 1 },
      { box: [22, 0, 56, 27], layer: 1 },
      { box: [22, 14, 56, 40], layer: 1 },
    ]);
  });

  it('computes two layers of a 1500×1000 image, clipping the last crops to the image', () => {
    const crops = generateCropBoxes(1000, 1500, 2, 512 / 1500);
    expect(crops.length).toBe(1 + 4 + 16);
    // layer 1: overlap = int(341.33) = 341; crop_w = ceil(1841/2) = 921, crop_h = ceil(1341/2) = 671;
    // x0 = 0, 580; y0 = 0, 330; 580 + 921 = 1501 → 1500, 330 + 671 = 1001 → 1000
    expect(crops.slice(1, 5).map((c) => c.box)).toEqual([
      [0, 0, 921, 671],
      [0, 330, 921, 1000],
      [580, 0, 1500, 671],
      [580, 330, 1500, 1000],
    ]);
    // layer 2: overlap = int(512/1500 · 1000 · 2/4) = int(170.67) = 170; crop_w = ceil((3·170 + 1500)/4) = ceil(502.5) = 503,
    // crop_h = ceil((510 + 1000)/4) = ceil(377.5) = 378; x0 = 333·i, y0 = 208·j
    const layer2 = crops.slice(5);
    expect(layer2.every((c) => c.layer === 2)).toBe(true);
    expect(layer2.slice(0, 4).map((c) => c.box)).toEqual([
      [0, 0, 503, 378],
      [0, 208, 503, 586],
      [0, 416, 503, 794],
      [0, 624, 503, 1000],
    ]);
    expect(layer2[4].box).toEqual([333, 0, 836, 378]);
    expect(layer2[15].box).toEqual([999, 624, 1500, 1000]);
  });

  it('downscales the point grid per layer as int(n / factor^layer)', () => {
    expect(layerPointsPerSide(32, 2, 1)).toEqual([32, 32, 32]);
    expect(layerPointsPerSide(32, 2, 2)).toEqual([32, 16, 8]);
    expect(layerPointsPerSide(32, 2, 3)).toEqual([32, 10, 3]);
    expect(layerPointsPerSide(4, 3, 2)).toEqual([4, 2, 1, 0]);
  });

  it('drops boxes within 20 px of a crop edge that is not an image edge', () => {
    const image = [0, 0, 56, 40];
    const topLeft = [0, 0, 35, 27];
    // x2 = 30 is 5 px from the crop's right edge (35) and 26 px from the image's (56)
    expect(isBoxNearCropEdge([5, 5, 30, 10], topLeft, image)).toBe(true);
    // near the crop's left/top edges, which are the image's: kept; right 25 px and bottom 22 px away
    expect(isBoxNearCropEdge([0, 0, 10, 5], topLeft, image)).toBe(false);
    // exactly 20 px away counts as near (isclose: |a − b| ≤ atol)
    expect(isBoxNearCropEdge([0, 0, 15, 5], topLeft, image)).toBe(true);
    const bottomRight = [22, 14, 56, 40];
    expect(isBoxNearCropEdge([42, 35, 55, 39], bottomRight, image)).toBe(true);
    expect(isBoxNearCropEdge([43, 35, 55, 39], bottomRight, image)).toBe(false);
    // the whole-image crop never drops anything
    expect(isBoxNearCropEdge([1, 1, 55, 39], image, image)).toBe(false);
  });

  it('prefers the mask from the smaller crop across crops', () => {
    const boxes: [number, number, number, number][] = [
      [10, 10, 30, 30], // from the whole image (56×40)
      [11, 10, 30, 30], // the same object from a 35×27 crop: IoU 19·20 / 20·20 = 0.95
      [40, 30, 50, 38], // elsewhere, whole image
    ];
    const crops: [number, number, number, number][] = [
      [0, 0, 56, 40],
      [0, 0, 35, 27],
      [0, 0, 56, 40],
    ];
    expect(nmsAcrossCrops(boxes, crops, 0.7)).toEqual([1, 2]);
    // below the threshold both stay, the smaller crop's first
    expect(nmsAcrossCrops(boxes, crops, 0.96)).toEqual([1, 0, 2]);
  });
});

describe('small-region post-processing (postprocess_small_regions)', () => {
  /** A record for an 8×8 image from a list of set (row, col) pixels. */
  function record(pixels: [number, number][], predictedIou: number) {
    const mask = new Uint8Array(64);
    for (const [r, c] of pixels) mask[r * 8 + c] = 1;
    return maskRecordFromBinary(mask, 8, 8, {
      predicted_iou: predictedIou,
      stability_score: 0.99,
      point_coords: [[1, 1]],
      source: 'sam',
    });
  }
  const block = (r0: number, c0: number, r1: number, c1: number, except: [number, number][] = []) => {
    const out: [number, number][] = [];
    for (let r = r0; r <= r1; r++)
      for (let c = c0; c <= c1; c++) if (!except.some(([er, ec]) => er === r && ec === c)) out.push([r, c]);
    return out;
  };

  it('cleans masks, prefers unchanged ones in NMS on the cleaned boxes, and re-encodes the changed survivors', () => {
    const a = record([...block(0, 0, 3, 3), [7, 7]], 0.99); // a 4×4 block and a 1-pixel island: changed
    const b = record(block(0, 0, 3, 3, [[0, 3]]), 0.9); //      the same block less a border pixel: clean
    const c = record(block(6, 0, 7, 1), 0.95); //                 a clean 2×2 block
    const d = record(block(4, 4, 6, 6, [[5, 5]]), 0.97); //       a ring with a 1-pixel hole: changed
    const out = postprocessSmallRegions([a, b, c, d], 3, 0.7);
    // scores 0, 1, 1, 0: b and c first; a's cleaned box [0,0,3,3] equals b's → suppressed
    // (its original box [0,0,7,7] would not have been: IoU 9/49)
    expect(out.length).toBe(3);
    expect(out[0]).toBe(b);
    expect(out[1]).toBe(c);
    expect(out[2].area).toBe(9);
    expect(out[2].bbox).toEqual([4, 4, 2, 2]);
    expect(out[2].predicted_iou).toBe(0.97);
    expect(out[2].point_coords).toEqual([[1, 1]]);
    expect(Array.from(decodeMask(fromCocoRle(out[2].segmentation)))).toEqual(
      Array.from(decodeMask(fromCocoRle(record(block(4, 4, 6, 6), 0).segmentation))),
    );
  });

  it('returns nothing for no masks', () => {
    expect(postprocessSmallRegions([], 10, 0.7)).toEqual([]);
  });
});

describe('points per batch as fits the GPU', () => {
  const sam = samPreset('sam-vit-b');
  const MiB = 2 ** 20;

  it("takes the decoder's largest per-prompt tensor: the 4h×4w×C/8 upscaled features for SAM", () => {
    // 64×64 grid, C = 256: repeated embedding 64·64·256 = 1 Mi floats; first upscale 128·128·64 = 1 Mi;
    // second upscale 256·256·32 = 2 Mi floats = 8 MiB; mask logits 4·256·256 = 256 Ki; attention 8·4096·7
    expect(decoderBytesPerPrompt(sam)).toBe(8 * MiB);
  });

  it('derives the batch from the smaller of the binding and buffer limits, in multiples of 16 or 8', () => {
    // WebGPU's default limits (128 MiB binding, 256 MiB buffer): 16 prompts
    expect(autoPointsPerBatch({ maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB }, sam)).toBe(16);
    // a typical discrete GPU (2 GiB): 256 fit, capped at upstream's 64; more when the cap allows
    const big = { maxStorageBufferBindingSize: 2048 * MiB, maxBufferSize: 2048 * MiB };
    expect(maxPointsPerBatch(big, sam)).toBe(256);
    expect(autoPointsPerBatch(big, sam)).toBe(64);
    expect(autoPointsPerBatch(big, sam, 512)).toBe(256);
    // the buffer limit binds when it is the smaller one
    expect(autoPointsPerBatch({ maxStorageBufferBindingSize: 2048 * MiB, maxBufferSize: 400 * MiB }, sam)).toBe(48);
    // 12 fit → 8; 5 fit → 5; none fit → still 1 (the decoder then reports the over-limit buffer)
    expect(autoPointsPerBatch({ maxStorageBufferBindingSize: 100 * MiB, maxBufferSize: 256 * MiB }, sam)).toBe(8);
    expect(autoPointsPerBatch({ maxStorageBufferBindingSize: 40 * MiB, maxBufferSize: 256 * MiB }, sam)).toBe(5);
    expect(autoPointsPerBatch({ maxStorageBufferBindingSize: 4 * MiB, maxBufferSize: 256 * MiB }, sam)).toBe(1);
  });

  it("uses upstream's 64 without GPU limits (no WebGPU)", () => {
    expect(autoPointsPerBatch(undefined, sam)).toBe(64);
  });
});

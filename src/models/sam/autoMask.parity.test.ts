/**
 * Automatic mask generation end to end on the tiny fixture SAM (random weights, so thresholds are
 * lowered to get masks at all). Each record must be exactly what the predictor gives for its point
 * (on its crop), pass the thresholds, and survive NMS; the image embedding must stay on the backend
 * throughout. With crop layers, masks come back as valid RLE in full-image coordinates.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { loadFixtureTensors, openFixtureSafetensors, readFixtureJson } from '../../../test/fixtures';
import { safetensorsSource } from '../weights/tensorSource';
import { rleArea, fromCocoRle, decodeMask } from '../../core/rle';
import { maskToBox, type MaskRecord } from '../../core/maskRecord';
import { removeSmallRegions, connectedComponents8 } from '../../core/smallRegions';
import { generateSamMasks } from './autoMask';
import { boxIou, generateCropBoxes, isBoxNearCropEdge } from './cropBoxes';
import { samConfigFromFixture } from './config';
import { SamModel, SamPredictor } from './sam';
import { generateMasksForImage } from './samStage';

const DIR = 'sam-tiny';
let model: SamModel;
let rgba: Uint8Array;
let width: number;
let height: number;

beforeAll(async () => {
  await setupTestBackend();
  const config = samConfigFromFixture(await readFixtureJson(`${DIR}/config.json`));
  model = await SamModel.load(
    safetensorsSource(await openFixtureSafetensors(`${DIR}/sam_original.safetensors`)),
    config,
  );
  const image = (await loadFixtureTensors(`${DIR}/cases.safetensors`)).get('image_original_uint8_hwc')!;
  [height, width] = image.shape;
  rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(image.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
});

afterAll(() => model.dispose());

describe('SAM automatic mask generation on the tiny fixture model', () => {
  it('returns records that match the predictor, pass the thresholds and survive NMS', async () => {
    const options = {
      pointsPerSide: 4,
      pointsPerBatch: 8,
      predIouThresh: -10,
      stabilityScoreThresh: 0.5,
      boxNmsThresh: 0.7,
    };
    const predictor = new SamPredictor(model);
    predictor.setImage(rgba, width, height, 4);
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const records = await generateSamMasks(predictor, options, undefined, (p) => progress.push(p.pointsDone));
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([8, 16]);
    expect(records.length).toBeGreaterThan(0);

    for (const [index, r] of records.entries()) {
      expect(r.source).toBe('sam');
      expect(r.segmentation.size).toEqual([height, width]);
      const mask = decodeMask(fromCocoRle(r.segmentation));
      expect(r.area).toBe(rleArea(fromCocoRle(r.segmentation)));
      const [x1, y1, x2, y2] = maskToBox(mask, height, width);
      expect(r.bbox).toEqual([x1, y1, x2 - x1, y2 - y1]);
      expect(r.stability_score!).toBeGreaterThanOrEqual(options.stabilityScoreThresh);
      expect(r.predicted_iou!).toBeGreaterThan(options.predIouThresh);

      // the same point through the single-prompt path gives the same binary mask (one of its 3 outputs);
      // two records suffice, each costs a full decode (seconds on SwiftShader)
      if (index >= 2) continue;
      const out = predictor.predict({ pointCoords: [r.point_coords[0]], pointLabels: [1], multimaskOutput: true });
      const iou = await out.iouPredictions.data();
      const k = Array.from(iou).findIndex((v) => Math.abs(v - r.predicted_iou!) < 1e-6);
      expect(k).toBeGreaterThanOrEqual(0);
      const logits = (await out.masks.data()).subarray(k * height * width, (k + 1) * height * width);
      let differing = 0;
      for (let i = 0; i < mask.length; i++)
        if ((logits[i] > 0 ? 1 : 0) !== mask[i] && Math.abs(logits[i]) > 1e-4) differing++;
      expect(differing).toBe(0);
      tf.dispose([out.masks, out.iouPredictions, out.lowResLogits]);
    }
    // NMS order: descending predicted IoU, no kept pair above the threshold
    for (let i = 1; i < records.length; i++)
      expect(records[i - 1].predicted_iou!).toBeGreaterThanOrEqual(records[i].predicted_iou!);
    for (let i = 0; i < records.length; i++) {
      for (let j = i + 1; j < records.length; j++) {
        const box = (b: number[]) => [b[0], b[1], b[0] + b[2], b[1] + b[3]];
        expect(boxIou(box(records[i].bbox), box(records[j].bbox)) > options.boxNmsThresh).toBe(false);
      }
    }
    predictor.resetImage();
  });

  it('runs through the stage function with SAM, with the fallback, and honours abort', async () => {
    const before = tf.memory().numTensors;
    const sam = await generateMasksForImage({ kind: 'sam', model }, rgba, width, height, {
      autoMask: { pointsPerSide: 4, predIouThresh: -10, stabilityScoreThresh: 0 },
    });
    expect(sam.length).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    const fallback = await generateMasksForImage({ kind: 'fallback' }, rgba, width, height, {
      fallback: { minSize: 20 },
    });
    expect(fallback.every((r) => r.source === 'fallback' && r.predicted_iou === null)).toBe(true);
    expect(fallback.reduce((a, r) => a + r.area, 0)).toBe(width * height);
    const controller = new AbortController();
    controller.abort();
    await expect(
      generateMasksForImage({ kind: 'sam', model }, rgba, width, height, {}, controller.signal),
    ).rejects.toThrow();
  });

  describe('with one crop layer', () => {
    // Random weights give large masks, which the 20 px crop-edge filter would drop from the 35×27
    // crops of this 56×40 image. A 0.9 overlap makes 46×38 crops whose inner edges lie within 20 px of
    // the image's, so crop masks are kept and their uncropping is checked (the filter has unit tests).
    const options = {
      pointsPerSide: 4,
      pointsPerBatch: 8,
      predIouThresh: 0,
      stabilityScoreThresh: 0.5,
      boxNmsThresh: 0.7,
      cropNLayers: 1,
      cropOverlapRatio: 0.9,
    };

    async function run(extra: object = {}, onProgress?: (done: number, total: number) => void): Promise<MaskRecord[]> {
      const predictor = new SamPredictor(model);
      predictor.setImage(rgba, width, height, 4);
      const before = tf.memory().numTensors;
      const records = await generateSamMasks(predictor, { ...options, ...extra }, undefined, (p) =>
        onProgress?.(p.pointsDone, p.pointsTotal),
      );
      // the crop embeddings are gone; the whole image's stays with the caller's predictor
      expect(tf.memory().numTensors).toBe(before);
      predictor.resetImage();
      return records;
    }

    it('returns full-image RLE from every crop, as the predictor gives it on the crop, deterministically', async () => {
      const progress: [number, number][] = [];
      const records = await run({}, (done, total) => progress.push([done, total]));
      // 5 crops (whole image + 2×2) × 16 points, 8 per batch
      expect(progress.length).toBe(10);
      expect(progress.at(-1)).toEqual([80, 80]);

      const crops = generateCropBoxes(height, width, 1, options.cropOverlapRatio).map((c) => c.box);
      expect(crops.slice(1)).toEqual([
        [0, 0, 46, 38],
        [0, 2, 46, 40],
        [10, 0, 56, 38],
        [10, 2, 56, 40],
      ]);
      const fromCrops = records.filter((r) => r.crop_box[2] !== width || r.crop_box[3] !== height);
      expect(fromCrops.length).toBeGreaterThan(0);
      for (const r of records) {
        expect(r.segmentation.size).toEqual([height, width]);
        const mask = decodeMask(fromCocoRle(r.segmentation));
        expect(r.area).toBe(rleArea(fromCocoRle(r.segmentation)));
        const [x1, y1, x2, y2] = maskToBox(mask, height, width);
        expect(r.bbox).toEqual([x1, y1, x2 - x1, y2 - y1]);
        const c = crops.findIndex(([x0, y0, cx1, cy1]) =>
          [x0, y0, cx1 - x0, cy1 - y0].every((v, i) => v === r.crop_box[i]),
        );
        expect(c).toBeGreaterThanOrEqual(0);
        const [cx0, cy0, cx1, cy1] = crops[c];
        // the mask and its prompt point lie inside their crop
        if (r.area > 0) expect(x1 >= cx0 && y1 >= cy0 && x2 < cx1 && y2 < cy1).toBe(true);
        const [[px, py]] = r.point_coords;
        expect(px > cx0 && px < cx1 && py > cy0 && py < cy1).toBe(true);
        expect(isBoxNearCropEdge([x1, y1, x2, y2], crops[c], [0, 0, width, height])).toBe(false);
      }
      // smaller crops first (cross-crop NMS by 1 / crop area), no kept pair above the crop NMS threshold
      const cropArea = (r: MaskRecord) => r.crop_box[2] * r.crop_box[3];
      for (let i = 1; i < records.length; i++)
        expect(cropArea(records[i - 1])).toBeLessThanOrEqual(cropArea(records[i]));
      const box = (b: number[]) => [b[0], b[1], b[0] + b[2], b[1] + b[3]];
      for (let i = 0; i < records.length; i++) {
        for (let j = i + 1; j < records.length; j++)
          expect(boxIou(box(records[i].bbox), box(records[j].bbox)) > 0.7).toBe(false);
      }

      // each crop mask against a predictor set on that crop alone: the same mask, shifted by the crop origin
      for (const r of fromCrops.slice(0, 2)) {
        const [cx, cy, cw, ch] = r.crop_box;
        const cropPixels = new Uint8Array(cw * ch * 4);
        for (let y = 0; y < ch; y++)
          cropPixels.set(rgba.subarray(4 * ((cy + y) * width + cx), 4 * ((cy + y) * width + cx + cw)), 4 * y * cw);
        const predictor = new SamPredictor(model);
        predictor.setImage(cropPixels, cw, ch, 4);
        const out = predictor.predict({
          pointCoords: [[r.point_coords[0][0] - cx, r.point_coords[0][1] - cy]],
          pointLabels: [1],
          multimaskOutput: true,
        });
        const k = Array.from(await out.iouPredictions.data()).findIndex((v) => Math.abs(v - r.predicted_iou!) < 1e-6);
        expect(k).toBeGreaterThanOrEqual(0);
        const logits = (await out.masks.data()).subarray(k * cw * ch, (k + 1) * cw * ch);
        const mask = decodeMask(fromCocoRle(r.segmentation));
        let differing = 0;
        let outside = 0;
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            if (x < cx || x >= cx + cw || y < cy || y >= cy + ch) {
              outside += mask[y * width + x];
              continue;
            }
            const l = logits[(y - cy) * cw + (x - cx)];
            if ((l > 0 ? 1 : 0) !== mask[y * width + x] && Math.abs(l) > 1e-4) differing++;
          }
        }
        expect(outside).toBe(0);
        expect(differing).toBe(0);
        tf.dispose([out.masks, out.iouPredictions, out.lowResLogits]);
        predictor.resetImage();
      }

      // deterministic: a second run gives the same records
      expect(JSON.stringify(await run())).toBe(JSON.stringify(records));
    });

    it('removes small holes and islands with a minimum region area', async () => {
      const minArea = 30;
      const records = await run({ minMaskRegionArea: minArea });
      expect(records.length).toBeGreaterThan(0);
      for (const r of records) {
        const mask = decodeMask(fromCocoRle(r.segmentation));
        expect(r.area).toBe(rleArea(fromCocoRle(r.segmentation)));
        expect(removeSmallRegions(mask, height, width, minArea, 'holes').changed).toBe(false);
        const islands = connectedComponents8(mask, height, width, true).sizes;
        // all islands large enough, or the one largest kept when all were small
        expect(islands.every((s) => s >= minArea) || islands.length === 1).toBe(true);
      }
    });
  });
});

/**
 * Automatic mask generation end to end on the tiny fixture SAM (random weights, so thresholds are
 * lowered to get masks at all). Each record must be exactly what the predictor gives for its point,
 * pass the thresholds, and survive NMS; the image embedding must stay on the backend throughout.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { loadFixtureTensors, openFixtureSafetensors, readFixtureJson } from '../../../test/fixtures';
import { rleArea, fromCocoRle, decodeMask } from '../../core/rle';
import { maskToBox } from '../../core/maskRecord';
import { boxIou, generateSamMasks } from './autoMask';
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
  model = await SamModel.load(await openFixtureSafetensors(`${DIR}/sam_original.safetensors`), config);
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
    const options = { pointsPerSide: 4, pointsPerBatch: 8, predIouThresh: -10, stabilityScoreThresh: 0.5, boxNmsThresh: 0.7 };
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
      for (let i = 0; i < mask.length; i++) if ((logits[i] > 0 ? 1 : 0) !== mask[i] && Math.abs(logits[i]) > 1e-4) differing++;
      expect(differing).toBe(0);
      tf.dispose([out.masks, out.iouPredictions, out.lowResLogits]);
    }
    // NMS order: descending predicted IoU, no kept pair above the threshold
    for (let i = 1; i < records.length; i++) expect(records[i - 1].predicted_iou!).toBeGreaterThanOrEqual(records[i].predicted_iou!);
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
    const sam = await generateMasksForImage({ kind: 'sam', model }, rgba, width, height, { autoMask: { pointsPerSide: 4, predIouThresh: -10, stabilityScoreThresh: 0 } });
    expect(sam.length).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    const fallback = await generateMasksForImage({ kind: 'fallback' }, rgba, width, height, { fallback: { minSize: 20 } });
    expect(fallback.every((r) => r.source === 'fallback' && r.predicted_iou === null)).toBe(true);
    expect(fallback.reduce((a, r) => a + r.area, 0)).toBe(width * height);
    const controller = new AbortController();
    controller.abort();
    await expect(generateMasksForImage({ kind: 'sam', model }, rgba, width, height, {}, controller.signal)).rejects.toThrow();
  });
});

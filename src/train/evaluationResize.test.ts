import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { CLIP_IMAGE_MEAN } from '../models/clip/clip';
import { resizePlanes } from '../models/ops/resize';
import { maskLogitsToImage, planTestResize, testResizeImage, testResizeOptions } from './evaluationResize';

beforeAll(async () => {
  await setupTestBackend();
});

describe('test-time resize (ResizeShortestEdge, pad to 32, crop back)', () => {
  it('plans sizes as detectron2 does: shortest edge to the test size, int(x + 0.5), long side capped, padded to 32', () => {
    const ade = testResizeOptions(640);
    expect(ade).toEqual({ shortEdge: 640, maxLongEdge: 2560, sizeDivisibility: 32 });
    // 640 · 640/480 = 853.33 → 853; 853 → 27·32 = 864.
    expect(planTestResize(480, 640, ade)).toEqual({
      height: 480,
      width: 640,
      resizedHeight: 640,
      resizedWidth: 853,
      paddedHeight: 640,
      paddedWidth: 864,
    });
    expect(planTestResize(640, 480, ade)).toMatchObject({
      resizedHeight: 853,
      resizedWidth: 640,
      paddedHeight: 864,
      paddedWidth: 640,
    });
    // COCO: 512 · 640/480 = 682.67 → 683 → 704; 427·512/640 = 341.6 → 342 → 352.
    expect(planTestResize(480, 640, testResizeOptions(512))).toMatchObject({
      resizedHeight: 512,
      resizedWidth: 683,
      paddedHeight: 512,
      paddedWidth: 704,
    });
    expect(planTestResize(640, 427, testResizeOptions(512))).toMatchObject({
      resizedHeight: 767,
      resizedWidth: 512,
      paddedHeight: 768,
      paddedWidth: 512,
    });
    // A 1:10 panorama: 640 × 6400 exceeds 2560, so both sides scale by 0.4 → 256 × 2560.
    expect(planTestResize(100, 1000, ade)).toMatchObject({
      resizedHeight: 256,
      resizedWidth: 2560,
      paddedHeight: 256,
      paddedWidth: 2560,
    });
    // int(x + 0.5) rounds halves up: 3 · 5/2 = 7.5 → 8.
    expect(planTestResize(2, 3, { shortEdge: 5, maxLongEdge: 100, sizeDivisibility: 1 })).toMatchObject({
      resizedHeight: 5,
      resizedWidth: 8,
    });
  });

  it('a 480×640 image at test size 640 runs as 640×864 (padding normalises to 0) and its prediction comes back at 480×640', () => {
    const before = tf.memory().numTensors;
    const plan = planTestResize(480, 640, testResizeOptions(640));
    const image = tf.fill([480, 640, 3], 200) as tf.Tensor3D;
    const input = testResizeImage(image, plan);
    expect(input.shape).toEqual([1, 640, 864, 3]);
    const pixel = (y: number, x: number) =>
      tf.tidy(() => Array.from(tf.slice(input, [0, y, x, 0], [1, 1, 1, 3]).dataSync()));
    expect(pixel(0, 0)).toEqual([200, 200, 200]);
    expect(pixel(639, 852)).toEqual([200, 200, 200]);
    const mean = CLIP_IMAGE_MEAN.map((m) => m * 255);
    for (const [got, want] of pixel(0, 853).map((v, c) => [v, mean[c]])) expect(got).toBeCloseTo(want, 4);
    for (const [got, want] of pixel(639, 863).map((v, c) => [v, mean[c]])) expect(got).toBeCloseTo(want, 4);

    // Stride-4 mask logits over the padded 640×864 input: 1 where the image is, −5 from column 214
    // (864-px column 856) on. Resized column 852 reads grid columns 212–213, so every pixel of the
    // cropped-back prediction is exactly 1: the padding never reaches it.
    const logits = tf.tidy(() =>
      tf.tile(
        tf.reshape(tf.tensor1d(Array.from({ length: 216 }, (_, x) => (x < 214 ? 1 : -5))), [1, 1, 1, 216]),
        [1, 2, 160, 1],
      ),
    );
    const back = maskLogitsToImage(logits, plan);
    expect(back.shape).toEqual([1, 2, 480, 640]);
    const [min, max] = tf.tidy(() => [tf.min(back).dataSync()[0], tf.max(back).dataSync()[0]]);
    expect(min).toBeCloseTo(1, 5);
    expect(max).toBeCloseTo(1, 5);
    tf.dispose([image, input, logits, back]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('crops before resizing: a left-to-right ramp over the valid region comes back as the same ramp', () => {
    // 6×8 image, test size 12, divisibility 8: resized 12×16 (already a multiple), so use 16 to pad 12×16 → 16×16.
    const plan = planTestResize(6, 8, { shortEdge: 12, maxLongEdge: 100, sizeDivisibility: 16 });
    expect(plan).toMatchObject({ resizedHeight: 12, resizedWidth: 16, paddedHeight: 16, paddedWidth: 16 });
    // Logits at full padded resolution: value = column over the valid rows, 99 in the padded rows.
    const logits = tf.tensor2d(
      Array.from({ length: 256 }, (_, i) => (Math.floor(i / 16) < 12 ? i % 16 : 99)),
      [16, 16],
    );
    const back = maskLogitsToImage(logits, plan);
    expect(back.shape).toEqual([6, 8]);
    // Halving 16 → 8 columns with half-pixel centres samples x = 2o + 0.5: 0.5, 2.5, …, 14.5.
    const rows = back.arraySync() as number[][];
    for (const row of rows) row.forEach((v, o) => expect(v).toBeCloseTo(2 * o + 0.5, 5));
    tf.dispose([logits, back]);
  });

  it('equals upsample to the padded size, crop, resize (sem_seg_postprocess) done one step at a time', () => {
    const plan = planTestResize(9, 13, { shortEdge: 20, maxLongEdge: 100, sizeDivisibility: 8 });
    expect(plan).toMatchObject({ resizedHeight: 20, resizedWidth: 29, paddedHeight: 24, paddedWidth: 32 });
    const logits = tf.randomNormal([2, 3, 6, 8], 0, 3, 'float32', 7);
    const composed = maskLogitsToImage(logits, plan);
    const stepwise = tf.tidy(() =>
      resizePlanes(tf.slice(resizePlanes(logits, 24, 32), [0, 0, 0, 0], [-1, -1, 20, 29]), 9, 13),
    );
    expect(composed.shape).toEqual([2, 3, 9, 13]);
    const a = composed.dataSync();
    const b = stepwise.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    tf.dispose([logits, composed, stepwise]);
  });
});

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng';
import { augmentMasks, defaultAugmentOptions, drawAugmentation } from './augment';
import { augmentedMaskTargets, augmentedPanopticTargets, cropSourceIndex } from './augmentLabels';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('label augmentation on the host', () => {
  it('matches the GPU nearest-neighbour mask augmentation pixel for pixel', async () => {
    const rng = new Rng(4);
    const h = 23;
    const w = 31;
    const crop = 16;
    const masks = Uint8Array.from({ length: 2 * h * w }, () => (rng.next() < 0.4 ? 1 : 0));
    for (let trial = 0; trial < 12; trial++) {
      const d = drawAugmentation(rng, h, w, defaultAugmentOptions(crop, false));
      const gpu = augmentMasks(tf.tensor3d(masks, [2, h, w], 'float32'), d, crop);
      const expected = await gpu.data();
      gpu.dispose();
      const host = augmentedMaskTargets(masks, 2, cropSourceIndex(d, w, h, crop), crop);
      // The host version drops empty masks: rebuild the full [2, crop, crop] stack to compare.
      const full = new Float32Array(2 * crop * crop);
      let j = 0;
      for (let k = 0; k < 2; k++) {
        const plane = expected.subarray(k * crop * crop, (k + 1) * crop * crop);
        if (plane.some((v) => v > 0))
          full.set(host.masks.subarray(j++ * crop * crop, j * crop * crop), k * crop * crop);
      }
      expect(Array.from(full)).toEqual(Array.from(expected));
    }
  });

  it('keeps visible non-crowd segments with their classes and drops the rest', () => {
    // 4x4 map: segment 1 (class a) on the left half, 2 (crowd) top right, 3 bottom right.
    const ids = [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 3, 3, 1, 1, 3, 3];
    const segments = [
      { id: 1, category_id: 10 },
      { id: 2, category_id: 20, iscrowd: 1 },
      { id: 3, category_id: 30 },
    ];
    const classOf = (c: number) => [10, 20, 30].indexOf(c);
    // A 2x2 crop of rows 1..2, columns 2..3: segment 1 disappears, the crowd is not a target.
    const d = { height: 4, width: 4, cropY: 1, cropX: 2, flip: false, colour: null };
    const t = augmentedPanopticTargets(ids, segments, cropSourceIndex(d, 4, 4, 2), 2, classOf);
    expect(Array.from(t.classes)).toEqual([2]);
    expect(Array.from(t.masks)).toEqual([0, 0, 1, 1]);
  });
});

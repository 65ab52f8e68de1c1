import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { Rng } from '../core/rng';
import { augmentImage, augmentMasks, defaultAugmentOptions, drawAugmentation, type AugmentDraw } from './augment';

beforeAll(async () => {
  await setupTestBackend();
});

describe('GPU augmentation', () => {
  it('draws scales from the schedule and crops inside the resized image', () => {
    const o = defaultAugmentOptions(64, true);
    expect(o.shortEdges[0]).toBe(32);
    expect(o.shortEdges.at(-1)).toBe(128);
    const rng = new Rng(1);
    for (let i = 0; i < 50; i++) {
      const d = drawAugmentation(rng, 48, 80, o);
      expect(o.shortEdges).toContain(Math.min(d.height, d.width));
      expect(d.cropY).toBeLessThanOrEqual(Math.max(0, d.height - 64));
      expect(d.cropX).toBeLessThanOrEqual(Math.max(0, d.width - 64));
    }
  });

  it('moves image and masks with the same geometry; pads image 128, masks 0', () => {
    // A vertical edge at x = 4 of an 8x8 image, upscaled x2, cropped 14x14 at (2, 3) and flipped (the crop runs past the resized 16x16: padding).
    const d: AugmentDraw = { height: 16, width: 16, cropY: 2, cropX: 3, flip: true, colour: null };
    const mask = tf.tensor3d(
      Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)),
      [1, 8, 8],
    );
    const image = tf.tidy(() =>
      tf.stack([tf.mul(tf.squeeze(mask, [0]), 200), tf.zeros([8, 8]), tf.zeros([8, 8])], -1),
    ) as tf.Tensor3D;
    const m = augmentMasks(mask, d, 14).arraySync()[0];
    const img = augmentImage(image, d, 14).arraySync();
    for (let y = 0; y < 14; y++) {
      for (let x = 0; x < 14; x++) {
        const srcX = 3 + (13 - x); // flipped crop column in the resized image
        const srcY = 2 + y;
        if (srcX >= 16 || srcY >= 16) {
          expect(m[y][x]).toBe(0);
          expect(img[y][x][0]).toBe(128);
          continue;
        }
        expect(m[y][x]).toBe(Math.floor(srcX / 2) < 4 ? 1 : 0);
        // Away from the edge the bilinear image agrees with the nearest mask.
        if (Math.abs(srcX - 7.5) > 1) expect(img[y][x][0]).toBeCloseTo(m[y][x] * 200, 3);
      }
    }
  });
});

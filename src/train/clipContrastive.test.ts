import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { contrastiveLoss, positivesFromKeys } from './clipContrastive';

beforeAll(async () => {
  await setupTestBackend();
});

describe('contrastiveLoss', () => {
  it('matches hand-computed InfoNCE values, with same-content pairs as shared targets', () => {
    // Unit embeddings, scale exp(0) = 1: logits = identity, each row's softmax is (e, 1) / (e + 1).
    const images = tf.tensor2d([
      [2, 0],
      [0, 3],
    ]);
    const texts = tf.tensor2d([
      [1, 0],
      [0, 0.5],
    ]);
    const scale = tf.scalar(0);
    const distinct = positivesFromKeys(['ball', 'sky']);
    // Diagonal targets: −log(e / (e + 1)) = log(1 + 1/e) in both directions.
    expect(contrastiveLoss(images, texts, distinct, scale).dataSync()[0]).toBeCloseTo(Math.log(1 + Math.exp(-1)), 5);
    // Same key: each row's target is (½, ½): −½·(log e − log(e + 1)) − ½·(−log(e + 1)) = log(1 + e) − ½.
    const same = positivesFromKeys(['ball', 'ball']);
    expect(contrastiveLoss(images, texts, same, scale).dataSync()[0]).toBeCloseTo(Math.log(1 + Math.E) - 0.5, 5);
    // The scale is clamped at ln 100, as open_clip clamps it.
    const atMax = contrastiveLoss(images, texts, distinct, tf.scalar(Math.log(100))).dataSync()[0];
    expect(contrastiveLoss(images, texts, distinct, tf.scalar(10)).dataSync()[0]).toBeCloseTo(atMax, 6);
    expect(atMax).toBeCloseTo(Math.log(1 + Math.exp(-100)), 6);
    tf.dispose([images, texts, scale, distinct, same]);
  });
});

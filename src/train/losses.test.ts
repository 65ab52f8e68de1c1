import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { Rng } from '../core/rng';
import { gradientCheck } from '../models/ops/gradientCheck';
import type { DecoderPrediction } from '../models/decoder/transformerDecoder';
import { criterionConfig, matchingCosts, r2Points, setCriterionLoss, type TargetBatch } from './losses';
import { hungarianMatch } from './matcher';

beforeAll(async () => {
  await setupTestBackend();
});

/** Two images of 8x8, 3 queries, 2 classes; image 0 has 2 targets, image 1 has 1. */
function fixture() {
  const masks = new Float32Array(2 * 2 * 64);
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) {
      masks[y * 8 + x] = x < 4 ? 1 : 0;
      masks[64 + y * 8 + x] = x >= 4 && y < 5 ? 1 : 0;
      masks[128 + y * 8 + x] = y >= 3 ? 1 : 0;
    }
  const targets: TargetBatch = {
    masks: tf.tensor3d(masks, [4, 8, 8]),
    maxTargets: 2,
    classes: [Int32Array.from([0, 1]), Int32Array.from([1])],
  };
  const cls = tf.randomNormal([2, 3, 3], 0, 1, 'float32', 1);
  const mask = tf.randomNormal([2, 3, 4, 4], 0, 2, 'float32', 2);
  return { targets, cls, mask };
}

describe('set criterion', () => {
  it('matching costs equal a direct per-pair computation', () => {
    const { targets, cls, mask } = fixture();
    const cfg = criterionConfig(2, { trainPoints: 16, oversampleRatio: 3, importanceRatio: 0.75 });
    const preds: DecoderPrediction[] = [{ classLogits: cls as tf.Tensor3D, maskLogits: mask as tf.Tensor4D }];
    const costs = matchingCosts(preds, targets, cfg, new Float32Array([0.1, 0.2, 0.3, 0.4]));
    expect(costs.shape).toEqual([2, 1, 3, 2]);
    const c = costs.dataSync();
    const probs = tf.softmax(cls).dataSync();
    const m = mask.dataSync();
    const g = targets.masks.dataSync();
    const shifts = [0.1, 0.2, 0.3, 0.4];
    const base = r2Points(16);
    const sample = (plane: ArrayLike<number>, n: number, x: number, y: number) => {
      const px = x * n - 0.5;
      const py = y * n - 0.5;
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      let v = 0;
      for (const [cx, cy] of [
        [x0, y0],
        [x0 + 1, y0],
        [x0, y0 + 1],
        [x0 + 1, y0 + 1],
      ]) {
        if (cx >= 0 && cy >= 0 && cx < n && cy < n)
          v += (1 - Math.abs(px - cx)) * (1 - Math.abs(py - cy)) * plane[cy * n + cx];
      }
      return v;
    };
    for (let b = 0; b < 2; b++) {
      for (let q = 0; q < 3; q++) {
        for (let t = 0; t < targets.classes[b].length; t++) {
          let bce = 0;
          let inter = 0;
          let sp = 0;
          let sg = 0;
          for (let i = 0; i < 16; i++) {
            const x = (base[2 * i] + shifts[2 * b]) % 1;
            const y = (base[2 * i + 1] + shifts[2 * b + 1]) % 1;
            const logit = sample(m.subarray((b * 3 + q) * 16, (b * 3 + q + 1) * 16), 4, x, y);
            const label = sample(g.subarray((b * 2 + t) * 64, (b * 2 + t + 1) * 64), 8, x, y);
            bce += Math.log1p(Math.exp(logit)) - logit * label;
            const p = 1 / (1 + Math.exp(-logit));
            inter += p * label;
            sp += p;
            sg += label;
          }
          const expected =
            5 * (bce / 16) +
            5 * (1 - (2 * inter + 1) / (sp + sg + 1)) -
            2 * probs[(b * 3 + q) * 3 + targets.classes[b][t]];
          expect(c[(b * 3 + q) * 2 + t]).toBeCloseTo(expected, 4);
        }
      }
    }
  });

  it('has exact gradients w.r.t. class and mask logits (finite differences, uniform points)', () => {
    const { targets, cls, mask } = fixture();
    const cfg = criterionConfig(2, { trainPoints: 24, oversampleRatio: 1, importanceRatio: 0 });
    const matches = [[hungarianMatch([0, 1, 1, 0, 2, 2], 3, 2), hungarianMatch([1, 0, 2], 3, 1)]];
    const loss = (c: tf.Tensor, m: tf.Tensor) =>
      setCriterionLoss(
        [{ classLogits: c as tf.Tensor3D, maskLogits: m as tf.Tensor4D }],
        targets,
        matches,
        cfg,
        new Rng(5),
      ).total;
    const ec = gradientCheck((t) => loss(t, mask), cls, 1e-2);
    const em = gradientCheck((t) => loss(cls, t), mask, 1e-2);
    console.log('criterion FD rel err: class logits', ec.maxRelError, 'mask logits', em.maxRelError);
    expect(ec.maxRelError).toBeLessThan(1e-2);
    expect(em.maxRelError).toBeLessThan(2e-2);
  });

  it('DeWa: no class term, zero gradient to class logits; importance sampling runs', () => {
    const { targets, cls, mask } = fixture();
    const cfg = criterionConfig(1, { trainPoints: 16, oversampleRatio: 3, importanceRatio: 0.75 }, true);
    const dewaTargets = { ...targets, classes: [Int32Array.from([0, 0]), Int32Array.from([0])] };
    const matches = [[hungarianMatch([0, 1, 1, 0, 2, 2], 3, 2), hungarianMatch([1, 0, 2], 3, 1)]];
    const cls1 = tf.slice(cls, [0, 0, 0], [2, 3, 2]);
    const g = tf.grads((c: tf.Tensor, m: tf.Tensor) =>
      tf.add(
        setCriterionLoss(
          [{ classLogits: c as tf.Tensor3D, maskLogits: m as tf.Tensor4D }],
          dewaTargets,
          matches,
          cfg,
          new Rng(1),
        ).total,
        tf.mul(tf.sum(c), 0),
      ),
    )([cls1, mask]);
    expect(tf.max(tf.abs(g[0])).dataSync()[0]).toBe(0);
    expect(tf.max(tf.abs(g[1])).dataSync()[0]).toBeGreaterThan(0);
  });
});

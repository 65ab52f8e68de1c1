import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { SemanticEvaluator } from '../core/semanticIoU';
import { panopticInference, semanticInference } from './panopticInference';
import { semanticInferenceOnDevice } from './semanticInference';

beforeAll(async () => {
  await setupTestBackend();
});

/**
 * Two queries, two classes (+ no-object), a 2×3 image. Class logits are log-probabilities, so the
 * softmax gives back p: q0 = [0.6, 0.2 | 0.2], q1 = [0.1, 0.6 | 0.3]. Mask logits are logit(σ) for
 * σ ∈ {0.2, 0.5, 0.8}.
 */
const CLASS_LOGITS = [0.6, 0.2, 0.2, 0.1, 0.6, 0.3].map(Math.log);
const logit = (s: number) => Math.log(s / (1 - s));
//            pixel:  a    b    c    d    e    f
const SIGMA_Q0 = [0.8, 0.2, 0.5, 0.2, 0.8, 0.8];
const SIGMA_Q1 = [0.2, 0.8, 0.8, 0.2, 0.8, 0.5];
const MASK_LOGITS = [...SIGMA_Q0, ...SIGMA_Q1].map(logit);
// S0 = 0.6·σ0 + 0.1·σ1, S1 = 0.2·σ0 + 0.6·σ1:
//   a: 0.50 vs 0.28 → 0   b: 0.20 vs 0.52 → 1   c: 0.38 vs 0.58 → 1
//   d: 0.14 vs 0.16 → 1   e: 0.56 vs 0.64 → 1   f: 0.53 vs 0.46 → 0
const EXPECTED_LABELS = [0, 1, 1, 1, 1, 0];

describe('semantic inference and the mIoU taken from it', () => {
  it('labels every pixel with argmax_c Σ_q softmax(class)[c]·σ(mask), on the CPU and on the device', () => {
    expect(Array.from(semanticInference(CLASS_LOGITS, MASK_LOGITS, 2, 2, 6))).toEqual(EXPECTED_LABELS);
    const labels = tf.tidy(() =>
      semanticInferenceOnDevice(tf.tensor2d(CLASS_LOGITS, [2, 3]), tf.tensor3d(MASK_LOGITS, [2, 2, 3])),
    );
    expect(labels.dtype).toBe('int32');
    expect(Array.from(labels.dataSync())).toEqual(EXPECTED_LABELS);
    labels.dispose();
  });

  it('mIoU matches the hand-computed example, where panoptic inference leaves pixel d void', () => {
    // Categories: index 0 = wall (id 7, stuff), index 1 = person (id 9, thing).
    const categories = [{ id: 7 }, { id: 9 }];
    // Ground truth a0 b1 c0 / d void, e1 f1: segment 1 = wall, segment 2 = person.
    const gt = {
      ids: Uint32Array.from([1, 2, 1, 0, 2, 2]),
      width: 3,
      height: 2,
      segments: [
        { id: 1, category_id: 7 },
        { id: 2, category_id: 9 },
      ],
    };
    const evaluator = new SemanticEvaluator(categories);
    evaluator.addImage(gt, semanticInference(CLASS_LOGITS, MASK_LOGITS, 2, 2, 6));
    // Prediction a0 b1 c1 / d1 e1 f0; d is ignored (GT void).
    // wall:   TP 1 (a), GT 2 (a, c), Pred 2 (a, f) → 1 / (2 + 2 − 1) = 1/3.
    // person: TP 2 (b, e), GT 3 (b, e, f), Pred 3 (b, c, e) → 2 / (3 + 3 − 2) = 1/2.
    // mIoU = (1/3 + 1/2) / 2 = 5/12.
    const r = evaluator.summarize();
    expect(r.per_class['7']).toBeCloseTo(1 / 3, 12);
    expect(r.per_class['9']).toBeCloseTo(1 / 2, 12);
    expect(r.miou).toBeCloseTo(5 / 12, 12);

    // Panoptic inference of the same outputs: neither mask reaches σ ≥ 0.5 at d, so d is void there.
    const panoptic = panopticInference(CLASS_LOGITS, MASK_LOGITS, 2, 2, 3, { numClasses: 2, isThing: (k) => k === 1 });
    expect(panoptic.idMap[3]).toBe(0);
  });

  it('agrees with the CPU form on random outputs, also when the pixels are split into chunks', () => {
    const q = 7;
    const c = 5;
    const [h, w] = [9, 11];
    const cls = tf.randomNormal([q, c + 1], 0, 2, 'float32', 3) as tf.Tensor2D;
    const masks = tf.randomNormal([1, q, h, w], 0, 4, 'float32', 4);
    const reference = semanticInference(cls.dataSync(), masks.dataSync(), q, c, h * w);
    const whole = semanticInferenceOnDevice(cls, masks);
    // 5 classes × 8 pixels per chunk: 99 pixels in 13 chunks, the last one 3 pixels wide.
    const chunked = semanticInferenceOnDevice(cls, masks, 40);
    expect(Array.from(whole.dataSync())).toEqual(Array.from(reference));
    expect(Array.from(chunked.dataSync())).toEqual(Array.from(reference));
    tf.dispose([cls, masks, whole, chunked]);
  });
});

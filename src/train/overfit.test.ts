import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang, type TrunkFeatures } from '../models/decoder/m2fLang';
import { criterionConfig } from './losses';
import { DEFAULT_OPTIMIZER } from './optim';
import { buildTextClassifier } from '../models/decoder/classHead';
import { resizePlanes } from '../models/ops/resize';
import { dewaHostTargets, panopticToHostTargets, uploadTargets } from './targets';
import {
  demoClassifier,
  demoClassOf,
  demoImages,
  panopticPredictions,
  panopticQuality,
  trunkFeatures,
} from '../../test/trainingSupport';
import { createTrainer } from './createTrainer';
import { Trainer } from './trainStep';

// Budgets sized for CI on 2 CPU cores (tfjs cpu). Each test stops as soon as it reaches its target,
// checked every CHECK_EVERY iterations.
// Supervised runs at 128x128: at 64x64 the tiny preset's stride-4 mask grid is 16x16, and even ideal
// logits on that grid, upsampled bilinearly, give PQ ~88 on these images (SQ is capped by the blocky
// boundaries), so PQ >= 90 is out of reach there; measured at 64x64, training plateaued near 83.
// At 128x128 (lr 1e-3, poly over 300): PQ 10 → 62 → 71 → 84 → 91 at iterations 25…125.
// DeWa stays at 64x64, where mask recall is not limited by the grid.
const SUPERVISED_SIZE = 128;
const SUPERVISED_SCHEDULE = 300;
const SUPERVISED_MAX_ITERATIONS = Number(process.env.DEARLI_OVERFIT_ITERS ?? 200);
const SUPERVISED_TARGET_PQ = 0.9;
const DEWA_SIZE = 64;
const DEWA_MAX_ITERATIONS = Number(process.env.DEARLI_OVERFIT_ITERS ?? 100);
const CHECK_EVERY = 25;
const LONG = 60 * 60_000;

beforeAll(async () => {
  await setupTestBackend();
});

describe('overfit on 4 demo images (tiny preset, tfjs cpu)', () => {
  it(
    `supervised training reaches PQ >= ${100 * SUPERVISED_TARGET_PQ} on the images it trains on (${SUPERVISED_SIZE}x${SUPERVISED_SIZE})`,
    async () => {
      const images = demoImages(4, SUPERVISED_SIZE);
      const features = await trunkFeatures(images);
      const config = decoderPreset('tiny', { cropSize: SUPERVISED_SIZE });
      const model = new M2FLang(config, 11);
      const classifier = demoClassifier(config.embedDim, 3);
      const targets = uploadTargets(
        images.map((im) => panopticToHostTargets(im, demoClassOf)),
        config.numQueries,
      );
      const trainer = new Trainer(model, classifier, {
        criterion: criterionConfig(classifier.numClasses, config),
        optimizer: { ...DEFAULT_OPTIMIZER, learningRate: 1e-3, maxIterations: SUPERVISED_SCHEDULE },
        seed: 5,
      });
      let pq = 0;
      for (let i = 1; i <= SUPERVISED_MAX_ITERATIONS && pq < SUPERVISED_TARGET_PQ; i++) {
        await trainer.step(features, targets);
        if (i % CHECK_EVERY === 0) {
          const quality = panopticQuality(
            images,
            await panopticPredictions(model, features, classifier, SUPERVISED_SIZE),
          );
          pq = quality.pq;
          console.log(
            `supervised: iteration ${i}, PQ ${(100 * pq).toFixed(1)} (SQ ${(100 * quality.sq).toFixed(1)}, RQ ${(100 * quality.rq).toFixed(1)})`,
          );
        }
      }
      expect(pq).toBeGreaterThanOrEqual(SUPERVISED_TARGET_PQ);
      trainer.dispose();
      model.dispose();
      targets.masks.dispose();
      tf.dispose(features as unknown as tf.Tensor[]);
    },
    LONG,
  );

  it(
    `DeWa (class-agnostic, overlapping masks) reaches high mask recall (${DEWA_SIZE}x${DEWA_SIZE})`,
    async () => {
      const images = demoImages(4, DEWA_SIZE);
      const features = await trunkFeatures(images);
      const config = decoderPreset('tiny');
      const model = new M2FLang(config, 12);
      const classifier = buildTextClassifier(
        Float32Array.from({ length: 3 * config.embedDim }, (_, i) => Math.sin(i + 1)),
        config.embedDim,
        [0, 0, 0],
        1,
      );
      // SAM-like targets: every segment, plus the union of each image's first two (an overlapping mask).
      const n = DEWA_SIZE * DEWA_SIZE;
      const host = images.map((im) => {
        const segs = panopticToHostTargets(im, demoClassOf).masks;
        const count = segs.length / n;
        const masks = new Uint8Array((count + 1) * n);
        masks.set(segs);
        for (let p = 0; p < n; p++) masks[count * n + p] = segs[p] | segs[n + p];
        return dewaHostTargets(DEWA_SIZE, DEWA_SIZE, masks);
      });
      const targets = uploadTargets(host, config.numQueries);
      const trainer = createTrainer('dewa', model, classifier, DEWA_MAX_ITERATIONS, 6, { learningRate: 1e-3 });
      let recall = 0;
      for (let i = 1; i <= DEWA_MAX_ITERATIONS && recall < 0.8; i++) {
        await trainer.step(features, targets);
        if (i % CHECK_EVERY === 0) {
          recall = await maskRecall(model, features, classifier, host, config.numQueries);
          console.log(`DeWa: iteration ${i}, mask recall@0.5 ${(100 * recall).toFixed(0)}%`);
        }
      }
      expect(recall).toBeGreaterThanOrEqual(0.8);
      trainer.dispose();
      model.dispose();
      targets.masks.dispose();
      tf.dispose(features as unknown as tf.Tensor[]);
    },
    LONG,
  );
});

/** Share of target masks that some query's mask (σ > 0.5 at image size) matches with IoU ≥ 0.5. */
async function maskRecall(
  model: M2FLang,
  features: TrunkFeatures,
  classifier: ReturnType<typeof buildTextClassifier>,
  host: ReturnType<typeof dewaHostTargets>[],
  q: number,
): Promise<number> {
  const n = DEWA_SIZE * DEWA_SIZE;
  const masks = tf.tidy(() => {
    const preds = model.forward(features, classifier);
    return tf.greater(resizePlanes(preds[preds.length - 1].maskLogits, DEWA_SIZE, DEWA_SIZE), 0);
  });
  const m = await masks.data();
  masks.dispose();
  let found = 0;
  let total = 0;
  host.forEach((h, b) => {
    const count = h.classes.length;
    for (let t = 0; t < count; t++) {
      total++;
      let best = 0;
      for (let k = 0; k < q; k++) {
        let inter = 0;
        let union = 0;
        for (let p = 0; p < n; p++) {
          const a = m[(b * q + k) * n + p];
          const g = h.masks[t * n + p];
          inter += a & g;
          union += a | g;
        }
        best = Math.max(best, union ? inter / union : 0);
      }
      if (best >= 0.5) found++;
    }
  });
  return found / total;
}

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang, type TrunkFeatures } from '../models/decoder/m2fLang';
import { criterionConfig } from './losses';
import { DEFAULT_OPTIMIZER } from './optim';
import { buildTextClassifier } from '../models/decoder/classHead';
import { resizePlanes } from '../models/ops/resize';
import { dewaHostTargets, panopticToHostTargets, uploadTargets } from './targets';
import { demoClassifier, demoClassOf, demoImages, panopticPredictions, panopticQuality, SIZE, trunkFeatures } from './testSupport';
import { createTrainer } from './stages/decoderTraining';
import { Trainer } from './trainStep';

// Iterations (DEARLI_OVERFIT_ITERS overrides both). DeWa reached recall 22/23 in 100; supervised
// reached PQ 52.9 in 100 (poly schedule over 100), so it gets more. At ~13 s/iteration on this
// loaded 2-core machine these runs take far longer than the 3 minutes aimed for.
const SUPERVISED_ITERATIONS = Number(process.env.DEARLI_OVERFIT_ITERS ?? 300);
const DEWA_ITERATIONS = Number(process.env.DEARLI_OVERFIT_ITERS ?? 100);
const LONG = 4 * 3_600_000;

let features: TrunkFeatures;
const images = demoImages(4);

beforeAll(async () => {
  await setupTestBackend();
  features = await trunkFeatures(images);
});

afterAll(() => tf.dispose(features as unknown as tf.Tensor[]));

describe('overfit on 4 demo images (tiny preset, 64x64, tfjs cpu)', () => {
  it('supervised training reaches PQ >= 90', async () => {
    const config = decoderPreset('tiny');
    const model = new M2FLang(config, 11);
    const classifier = demoClassifier(config.embedDim, 3);
    const targets = uploadTargets(images.map((im) => panopticToHostTargets(im, demoClassOf)), config.numQueries);
    console.log('targets per image', targets.classes.map((c) => c.length));
    const trainer = new Trainer(model, classifier, {
      criterion: criterionConfig(classifier.numClasses, config),
      optimizer: { ...DEFAULT_OPTIMIZER, learningRate: 1e-3, maxIterations: SUPERVISED_ITERATIONS },
      seed: 5,
    });
    const t0 = performance.now();
    for (let i = 0; i < SUPERVISED_ITERATIONS; i++) {
      const r = await trainer.step(features, targets);
      if (r.previous && i % 25 === 0) console.log(`iter ${r.previous.iteration} loss ${r.previous.total.toFixed(3)} (${((performance.now() - t0) / (i + 1)).toFixed(0)} ms/it)`);
    }
    const last = await trainer.flushLosses();
    const pq = panopticQuality(images, await panopticPredictions(model, features, classifier));
    console.log(`supervised: ${SUPERVISED_ITERATIONS} iterations, final loss ${last?.total.toFixed(3)}, PQ ${(100 * pq).toFixed(1)}`);
    expect(pq).toBeGreaterThanOrEqual(0.9);
    trainer.dispose();
    model.dispose();
    targets.masks.dispose();
  }, LONG);

  it('DeWa (class-agnostic, overlapping masks) reaches high mask recall', async () => {
    const config = decoderPreset('tiny');
    const model = new M2FLang(config, 12);
    const classifier = buildTextClassifier(Float32Array.from({ length: 3 * config.embedDim }, (_, i) => Math.sin(i + 1)), config.embedDim, [0, 0, 0], 1);
    // SAM-like targets: every segment, plus the union of each image's first two (an overlapping mask).
    const n = SIZE * SIZE;
    const host = images.map((im) => {
      const segs = panopticToHostTargets(im, demoClassOf).masks;
      const count = segs.length / n;
      const masks = new Uint8Array((count + 1) * n);
      masks.set(segs);
      for (let p = 0; p < n; p++) masks[count * n + p] = segs[p] | segs[n + p];
      return dewaHostTargets(SIZE, SIZE, masks);
    });
    const targets = uploadTargets(host, config.numQueries);
    const trainer = createTrainer('dewa', model, classifier, DEWA_ITERATIONS, 6, { learningRate: 1e-3 });
    for (let i = 0; i < DEWA_ITERATIONS; i++) await trainer.step(features, targets);
    // Recall: a target counts as found when some query's mask (σ > 0.5 at image size) has IoU ≥ 0.5 with it.
    const masks = tf.tidy(() => {
      const preds = model.forward(features, classifier);
      return tf.greater(resizePlanes(preds[preds.length - 1].maskLogits, SIZE, SIZE), 0);
    });
    const m = await masks.data();
    masks.dispose();
    const q = config.numQueries;
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
    console.log(`DeWa: ${DEWA_ITERATIONS} iterations, mask recall@0.5 ${found}/${total}`);
    expect(found / total).toBeGreaterThanOrEqual(0.8);
    trainer.dispose();
    model.dispose();
    targets.masks.dispose();
  }, LONG);
});

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang, type TrunkFeatures } from '../models/decoder/m2fLang';
import { criterionConfig } from './losses';
import { DEFAULT_OPTIMIZER } from './optim';
import { panopticToHostTargets, uploadTargets } from './targets';
import { demoClassifier, demoClassOf, demoImages, panopticPredictions, panopticQuality, trunkFeatures } from './testSupport';
import { Trainer } from './trainStep';

const ITERATIONS = Number(process.env.DEARLI_OVERFIT_ITERS ?? 150);

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
      optimizer: { ...DEFAULT_OPTIMIZER, learningRate: 1e-3, maxIterations: ITERATIONS },
      seed: 5,
    });
    const t0 = performance.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const r = await trainer.step(features, targets);
      if (r.previous && i % 25 === 0) console.log(`iter ${r.previous.iteration} loss ${r.previous.total.toFixed(3)} (${((performance.now() - t0) / (i + 1)).toFixed(0)} ms/it)`);
    }
    const last = await trainer.flushLosses();
    const pq = panopticQuality(images, await panopticPredictions(model, features, classifier));
    console.log(`supervised: ${ITERATIONS} iterations, final loss ${last?.total.toFixed(3)}, PQ ${(100 * pq).toFixed(1)}`);
    expect(pq).toBeGreaterThanOrEqual(0.9);
    trainer.dispose();
    model.dispose();
    targets.masks.dispose();
  });
});

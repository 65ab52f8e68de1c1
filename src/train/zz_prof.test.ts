import { it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { criterionConfig } from './losses';
import { DEFAULT_OPTIMIZER } from './optim';
import { panopticToHostTargets, uploadTargets } from './targets';
import { demoClassifier, demoClassOf, demoImages, panopticPredictions, panopticQuality, trunkFeatures } from './testSupport';
import { Trainer } from './trainStep';
it('probe', async () => {
  await setupTestBackend();
  const images = demoImages(4);
  const features = await trunkFeatures(images);
  const config = decoderPreset('tiny');
  const model = new M2FLang(config, 11);
  const classifier = demoClassifier(config.embedDim, 3);
  const targets = uploadTargets(images.map((im) => panopticToHostTargets(im, demoClassOf)), config.numQueries);
  const N = 150;
  const trainer = new Trainer(model, classifier, { criterion: criterionConfig(classifier.numClasses, config), optimizer: { ...DEFAULT_OPTIMIZER, learningRate: 1e-3, maxIterations: N }, seed: 5 });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await trainer.step(features, targets);
    if (i % 10 === 9) {
      const pq = panopticQuality(images, await panopticPredictions(model, features, classifier));
      console.log(`iter ${i} loss ${r.previous?.total.toFixed(3)} PQ ${(pq * 100).toFixed(1)} ${((performance.now() - t0) / (i + 1)).toFixed(0)} ms/it`);
      if (pq >= 0.95) break;
    }
  }
}, 3_600_000);

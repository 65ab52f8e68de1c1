import * as tf from '@tensorflow/tfjs';
import { it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { criterionConfig } from './losses';
import { DEFAULT_OPTIMIZER } from './optim';
import { panopticToHostTargets, uploadTargets } from './targets';
import { demoClassifier, demoClassOf, demoImages, trunkFeatures } from './testSupport';
import { Trainer } from './trainStep';
it('prof', async () => {
  await setupTestBackend();
  const images = demoImages(4);
  const features = await trunkFeatures(images);
  const config = decoderPreset('tiny');
  const model = new M2FLang(config, 11);
  const classifier = demoClassifier(config.embedDim, 3);
  const targets = uploadTargets(images.map((im) => panopticToHostTargets(im, demoClassOf)), config.numQueries);
  const trainer = new Trainer(model, classifier, { criterion: criterionConfig(classifier.numClasses, config), optimizer: { ...DEFAULT_OPTIMIZER, maxIterations: 10 }, seed: 5 });
  await trainer.step(features, targets);
  const prof = await tf.profile(async () => { await trainer.step(features, targets); });
  const by = new Map<string, [number, number, number]>();
  for (const kk of prof.kernels) { const e = by.get(kk.name) ?? [0, 0, 0]; e[0] += kk.kernelTimeMs as number; e[1]++; e[2] += kk.outputShapes.reduce((a, s) => a + (s ?? []).reduce((x, y) => x + 0 * y, 0) + (s ?? []).reduce((x, y) => x * y, 1), 0); by.set(kk.name, e); }
  const tot = [...by.values()].reduce((a, b) => a + b[0], 0);
  console.log(prof.kernels.length, tot, JSON.stringify([...by].sort((a, b) => b[1][0] - a[1][0]).slice(0, 14)));
  for (let i = 0; i < 2; i++) { const t0 = performance.now(); const r = await trainer.step(features, targets); console.log('plain', performance.now() - t0, JSON.stringify(r.timings)); }
});

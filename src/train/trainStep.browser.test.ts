import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { takeGpuError } from '../models/backend';
import { buildTextClassifier, disposeTextClassifier } from '../models/decoder/classHead';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { createTrainer } from './createTrainer';
import { uploadTargets } from './targets';

beforeAll(async () => {
  await setupTestBackend();
});

describe('training step on WebGPU', () => {
  it('runs supervised and DeWa steps with finite losses and no GPU validation error', async () => {
    const config = decoderPreset('tiny', { numQueries: 4, decoderLayers: 2, cropSize: 32, trainPoints: 16 });
    for (const kind of ['supervised', 'dewa'] as const) {
      const model = new M2FLang(config, 1);
      const classifier = buildTextClassifier(
        Float32Array.from({ length: 3 * config.embedDim }, (_, i) => Math.sin(i)),
        config.embedDim,
        kind === 'dewa' ? [0, 0, 0] : [0, 1, 1],
        kind === 'dewa' ? 1 : 2,
      );
      const trainer = createTrainer(kind, model, classifier, 10, 3);
      const features = Object.fromEntries(
        (['res2', 'res3', 'res4', 'res5'] as const).map((k, i) => [
          k,
          tf.randomNormal([2, 8 >> i, 8 >> i, config.trunkChannels[i]], 0, 1, 'float32', i + 1) as tf.Tensor4D,
        ]),
      ) as never;
      const mask = new Uint8Array(2 * 32 * 32).map((_, i) => (i % 32 < 16 !== i >= 1024 ? 1 : 0));
      const image = { width: 32, height: 32, masks: mask, classes: Int32Array.from(kind === 'dewa' ? [0, 0] : [0, 1]) };
      const targets = uploadTargets([image, image], 3);
      for (let i = 0; i < 3; i++) await trainer.step(features, targets);
      const loss = await trainer.flushLosses();
      expect(takeGpuError()).toBeNull();
      expect(Number.isFinite(loss!.total)).toBe(true);
      trainer.dispose();
      model.dispose();
      disposeTextClassifier(classifier);
      tf.dispose([targets.masks, ...Object.values(features as Record<string, tf.Tensor>)]);
    }
  });
});

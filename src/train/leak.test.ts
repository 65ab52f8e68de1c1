import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { buildTextClassifier, disposeTextClassifier } from '../models/decoder/classHead';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { uploadTargets } from './targets';
import { createTrainer } from './createTrainer';

beforeAll(async () => {
  await setupTestBackend();
});

describe('training leaks no tensors', () => {
  it('numTensors is the same after iteration 10 and 50 and back to baseline after dispose (supervised, then DeWa)', async () => {
    // The smallest decoder that still runs every code path: 32x32 input, 1 layer of each kind.
    const config = decoderPreset('tiny', { numQueries: 4, decoderLayers: 1, cropSize: 32, trainPoints: 16 });
    const baseline = tf.memory().numTensors;
    for (const kind of ['supervised', 'dewa'] as const) {
      const model = new M2FLang(config, 1);
      const classes = kind === 'dewa' ? 1 : 2;
      const classifier = buildTextClassifier(
        Float32Array.from({ length: 3 * config.embedDim }, (_, i) => Math.sin(i)),
        config.embedDim,
        kind === 'dewa' ? [0, 0, 0] : [0, 1, 1],
        classes,
      );
      const trainer = createTrainer(kind, model, classifier, 50, 3);
      const features = Object.fromEntries(
        (['res2', 'res3', 'res4', 'res5'] as const).map((k, i) => [
          k,
          tf.randomNormal([1, 8 >> i, 8 >> i, config.trunkChannels[i]], 0, 1, 'float32', i + 1) as tf.Tensor4D,
        ]),
      ) as unknown as Parameters<typeof trainer.step>[0];
      const mask = new Uint8Array(2 * 32 * 32).map((_, i) => (i % 32 < 16 !== i >= 1024 ? 1 : 0));
      const targets = uploadTargets(
        [{ width: 32, height: 32, masks: mask, classes: Int32Array.from(kind === 'dewa' ? [0, 0] : [0, 1]) }],
        3,
      );
      const counts: number[] = [];
      for (let i = 1; i <= 50; i++) {
        await trainer.step(features, targets);
        if (i === 10 || i === 50) counts.push(tf.memory().numTensors);
      }
      console.log(`${kind}: numTensors after iteration 10 and 50:`, counts);
      expect(counts[1]).toBe(counts[0]);
      trainer.dispose();
      model.dispose();
      disposeTextClassifier(classifier);
      tf.dispose([targets.masks, ...Object.values(features)]);
      // Everything a run created is gone once its owners are disposed.
      expect(tf.memory().numTensors).toBe(baseline);
    }
  });
});

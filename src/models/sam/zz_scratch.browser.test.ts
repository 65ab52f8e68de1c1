import * as tf from '@tensorflow/tfjs';
import { it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { openFixtureSafetensors, readFixtureJson } from '../../../test/fixtures';
import { samConfigFromFixture } from './config';
import { SamModel } from './sam';

it('scratch timing', async () => {
  await setupTestBackend();
  const config = samConfigFromFixture(await readFixtureJson('sam-tiny/config.json'));
  const model = await SamModel.load(await openFixtureSafetensors('sam-tiny/sam_original.safetensors'), config);
  const emb = tf.randomNormal([1, 4, 4, 16]) as tf.Tensor4D;
  const t = async (label: string, f: () => tf.Tensor | tf.Tensor[]) => {
    for (let rep = 0; rep < 3; rep++) {
      const t0 = performance.now();
      const out = f();
      const arr = Array.isArray(out) ? out : [out];
      for (const o of arr) await o.data();
      console.log(`T ${label} rep${rep} ${(performance.now() - t0).toFixed(0)} ms`);
      tf.dispose(arr);
    }
  };
  const coords = tf.tensor3d([[[10, 20]]]);
  const labels = tf.tensor2d([[1]], [1, 1], 'int32');
  await t('sync', () => tf.add(emb, 1));
  await t('prompt', () => { const r = model.promptEncoder.forward({ pointCoords: coords, pointLabels: labels }); return [r.sparse, r.dense]; });
  const { sparse, dense } = model.promptEncoder.forward({ pointCoords: coords, pointLabels: labels });
  await t('transformer', () => { const r = model.maskDecoder.transformer.forward(tf.reshape(emb, [1, 16, 16]) as tf.Tensor3D, tf.reshape(model.densePe, [1, 16, 16]) as tf.Tensor3D, tf.concat([tf.zeros([1, 5, 16]), sparse], 1) as tf.Tensor3D); return [r.queries, r.keys]; });
  await t('decoder', () => { const r = model.maskDecoder.forward(emb, model.densePe, sparse, dense, true); return [r.lowResLogits, r.iouPredictions]; });
  await t('convT', () => tf.conv2dTranspose(tf.randomNormal([1, 4, 4, 16]) as tf.Tensor4D, tf.randomNormal([2, 2, 4, 16]) as tf.Tensor4D, [1, 8, 8, 4], 2, 'valid'));
  await t('matmul', () => tf.matMul(tf.randomNormal([3, 7, 16]), tf.randomNormal([3, 16, 16])));
});

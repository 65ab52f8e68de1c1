/** The fused kernels against the nn.ts compositions they replace (cpu in Node, WebGPU in Chromium). */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { takeGpuError } from '../backend';
import { setupTestBackend } from '../../../test/backend';
import { geluInference } from './inferenceKernels';
import { gelu, layerNorm, layerNormComposed, linear } from './nn';

function randomTensor(shape: number[], rng: Rng, scale: number): tf.Tensor {
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => scale * rng.normal()),
    shape,
  );
}

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const value = (await d.data())[0];
  tf.dispose([a, b, d]);
  return value;
}

beforeAll(async () => {
  await setupTestBackend();
});

afterEach(() => {
  expect(takeGpuError()).toBeNull();
});

describe('inference kernels', () => {
  const rng = new Rng(7);

  // Rows not a multiple of the workgroup, odd channel counts, an offset mean; on WebGPU layerNorm is
  // layerNormKernels.ts (one dispatch forward, its own backward), elsewhere the composition itself.
  it.each([[[2, 5, 7, 13]], [[3, 130]], [[1, 4, 4, 512]], [[150, 32]]])(
    'layerNorm matches its composition on %j, in value and in the gradients of x, weight and bias',
    async (shape) => {
      const c = shape[shape.length - 1];
      const x = tf.tidy(() => tf.add(randomTensor(shape, rng, 3), 5));
      const w = randomTensor([c], rng, 1) as tf.Tensor1D;
      const b = randomTensor([c], rng, 1) as tf.Tensor1D;
      const dy = randomTensor(shape, rng, 1);
      const fused = layerNorm(x, w, b, 1e-6);
      expect(fused.shape).toEqual(shape);
      expect(await maxAbsDiff(fused, layerNormComposed(x, w, b, 1e-6))).toBeLessThan(1e-4);
      const loss = (f: typeof layerNormComposed) => (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
        tf.sum(tf.mul(f(xs, ws, bs, 1e-6), dy));
      const before = tf.memory().numTensors;
      const grads = tf.grads(loss((xs, ws, bs, eps) => layerNorm(xs, ws, bs, eps)))([x, w, b]);
      expect(tf.memory().numTensors).toBe(before + 3);
      const reference = tf.grads(loss(layerNormComposed))([x, w, b]);
      // ∂weight and ∂bias sum over up to 150 rows.
      for (let i = 0; i < 3; i++) expect(await maxAbsDiff(grads[i], reference[i])).toBeLessThan(i === 0 ? 1e-4 : 2e-4);
      tf.dispose([x, w, b, dy]);
    },
  );

  it('geluInference matches gelu, including 0 and large |x|', async () => {
    const x = tf.concat([randomTensor([1000], rng, 4), tf.tensor1d([0, -12, 12, -0.5, 1e-3])]);
    expect(await maxAbsDiff(geluInference(x), gelu(x))).toBeLessThan(1e-5);
    x.dispose();
  });

  it('linear (one fused matMul with the bias) matches matMul then add, in value and gradient', async () => {
    const x = randomTensor([2, 3, 17], rng, 1);
    const w = randomTensor([17, 9], rng, 0.3) as tf.Tensor2D;
    const b = randomTensor([9], rng, 0.1) as tf.Tensor1D;
    const composed = (xs: tf.Tensor, ws: tf.Tensor, bs?: tf.Tensor) =>
      tf.reshape(tf.add(tf.matMul(tf.reshape(xs, [6, 17]), ws), bs ?? 0), [2, 3, 9]);
    expect(await maxAbsDiff(linear(x, w, b), composed(x, w, b))).toBeLessThan(1e-5);
    expect(await maxAbsDiff(linear(x, w), composed(x, w))).toBeLessThan(1e-5);
    const loss = (f: typeof composed) => (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
      tf.sum(tf.square(f(xs, ws, bs)));
    const fused = tf.grads(loss((xs, ws, bs) => linear(xs, ws as tf.Tensor2D, bs)))([x, w, b]);
    const reference = tf.grads(loss(composed))([x, w, b]);
    for (let i = 0; i < 3; i++) expect(await maxAbsDiff(fused[i], reference[i])).toBeLessThan(1e-5);
    tf.dispose([x, w, b, ...fused, ...reference]);
  });
});

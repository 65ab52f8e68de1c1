/**
 * ConvNeXt's pointwise MLP kernels (pointwiseKernels.ts) on WebGPU against float64 JS references of
 * their definitions, and against the composed tfjs path they replace.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { compiledShaderKeys, setupTestBackend, worstRelativeError } from '../../../test/backend';
import { takeGpuError } from '../backend';
import { layerScaleResidual } from './convNextKernels';
import { geluInference } from './inferenceKernels';
import { linear } from './nn';
import { linearGelu, linearScaleResidual } from './pointwiseKernels';

/** float32 sums of up to 36 products of O(1) values against float64 references. */
const TOLERANCE = 2e-5;

beforeAll(async () => {
  await setupTestBackend();
});

afterEach(() => {
  expect(takeGpuError()).toBeNull();
});

/** x·W + b in float64: x [rows, k], W [k, n]. */
function linearReference(x: Float32Array, w: Float32Array, b: Float32Array | null, k: number, n: number): Float64Array {
  const rows = x.length / k;
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < n; j++) {
      let s = b ? b[j] : 0;
      for (let p = 0; p < k; p++) s += x[r * k + p] * w[p * n + j];
      out[r * n + j] = s;
    }
  return out;
}

/** erf by its Maclaurin series (converges fast for |z| < 4; GELU's tail beyond is 0 or x within float32). */
function erf(z: number): number {
  if (Math.abs(z) > 4) return Math.sign(z);
  let term = z;
  let sum = z;
  for (let n = 1; n < 80; n++) {
    term *= (-z * z) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('pointwise MLP kernels on WebGPU', () => {
  const rng = new Rng(31);
  const random = (length: number, scale = 1) => Float32Array.from({ length }, () => scale * rng.normal());

  // 13 rows (not a multiple of the 8-row tile) of a [1, 13, 1, 36]-shaped map; 3 rows without a bias
  it.each([
    [[1, 13, 1, 36], 20, true],
    [[3, 36], 8, false],
  ])('GELU(x·W + b) and x + γ⊙(h·W + b) of %j → %i (bias %s) match float64 references', async (shape, n, bias) => {
    const k = shape[shape.length - 1];
    const rows = shape.slice(0, -1).reduce((a, d) => a * d, 1);
    const [xData, w1Data, b1Data] = [random(rows * k), random(k * n, 0.3), random(n, 0.1)];
    const [w2Data, b2Data, gammaData] = [random(n * k, 0.3), random(k, 0.1), random(k, 0.5)];
    const start = tf.memory().numTensors;
    const x = tf.tensor(xData, shape);
    const [w1, w2] = [tf.tensor2d(w1Data, [k, n]), tf.tensor2d(w2Data, [n, k])];
    const [b1, b2] = bias ? [tf.tensor1d(b1Data), tf.tensor1d(b2Data)] : [undefined, undefined];
    const gamma = tf.tensor1d(gammaData);

    const hidden = linearGelu(x, w1, b1);
    expect(hidden.shape).toEqual([...shape.slice(0, -1), n]);
    const pre = linearReference(xData, w1Data, bias ? b1Data : null, k, n);
    const geluExpected = pre.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    const hiddenData = (await hidden.data()) as Float32Array;
    expect(worstRelativeError(hiddenData, geluExpected)).toBeLessThan(TOLERANCE);

    const out = linearScaleResidual(x, hidden, w2, b2, gamma);
    expect(out.shape).toEqual(shape);
    const projected = linearReference(hiddenData, w2Data, bias ? b2Data : null, n, k);
    const expected = projected.map((v, i) => xData[i] + gammaData[i % k] * v);
    expect(worstRelativeError(await out.data(), expected)).toBeLessThan(TOLERANCE);
    expect(compiledShaderKeys().some((key) => key.startsWith(`dearli_pointwise_gelu_${bias}_${rows}_${k}_${n}`))).toBe(
      true,
    );
    expect(
      compiledShaderKeys().some((key) => key.startsWith(`dearli_pointwise_scaleResidual_${bias}_${rows}_${n}_${k}`)),
    ).toBe(true);

    // the composed path it replaces gives the same within the same tolerance
    const composed = tf.tidy(() => layerScaleResidual(x, linear(geluInference(linear(x, w1, b1)), w2, b2), gamma));
    expect(worstRelativeError(await out.data(), await composed.data())).toBeLessThan(TOLERANCE);
    tf.dispose([x, w1, w2, gamma, hidden, out, composed, ...(b1 && b2 ? [b1, b2] : [])]);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('keeps the composed path when the inner size is not a multiple of 4', async () => {
    const [rows, k, n] = [5, 6, 8];
    const [xData, wData, bData] = [random(rows * k), random(k * n, 0.3), random(n, 0.1)];
    const [x, w, b] = [tf.tensor2d(xData, [rows, k]), tf.tensor2d(wData, [k, n]), tf.tensor1d(bData)];
    const out = linearGelu(x, w, b);
    const expected = linearReference(xData, wData, bData, k, n).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    expect(worstRelativeError(await out.data(), expected)).toBeLessThan(TOLERANCE);
    expect(compiledShaderKeys().some((key) => key.startsWith(`dearli_pointwise_gelu_true_${rows}_${k}_`))).toBe(false);
    tf.dispose([x, w, b, out]);
  });
});

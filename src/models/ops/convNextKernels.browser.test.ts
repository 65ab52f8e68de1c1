/**
 * The ConvNeXt block kernels (convNextKernels.ts) on WebGPU against float64 JS references of their
 * definitions, and against the composed tfjs path they replace.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { compiledShaderKeys, setupTestBackend, worstRelativeError } from '../../../test/backend';
import { takeGpuError } from '../backend';
import { depthwiseConvLayerNorm, layerScaleResidual, MIN_FUSED_PIXELS } from './convNextKernels';
import { layerNorm } from './nn';

/** float32 kernels vs float64 references: 49-tap sums and a normalisation by a variance of O(1). */
const TOLERANCE = 2e-5;

/** LN_c(b_c + Σ_{ky,kx} x[y+ky−p, x+kx−p, c]·k[ky, kx, c]) with zero padding, biased variance. */
function dwConvLayerNormReference(
  x: Float32Array,
  [batch, h, w, c]: number[],
  kernel: Float32Array,
  k: number,
  convBias: Float32Array,
  gain: Float32Array,
  shift: Float32Array,
  eps: number,
): Float64Array {
  const pad = (k - 1) / 2;
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const conv = new Float64Array(c);
        for (let ch = 0; ch < c; ch++) {
          let v = convBias[ch];
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = y + ky - pad;
              const ix = xx + kx - pad;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                v += x[((b * h + iy) * w + ix) * c + ch] * kernel[(ky * k + kx) * c + ch];
            }
          }
          conv[ch] = v;
        }
        const mean = conv.reduce((a, v) => a + v, 0) / c;
        const variance = conv.reduce((a, v) => a + (v - mean) ** 2, 0) / c;
        const base = ((b * h + y) * w + xx) * c;
        for (let ch = 0; ch < c; ch++)
          out[base + ch] = ((conv[ch] - mean) / Math.sqrt(variance + eps)) * gain[ch] + shift[ch];
      }
    }
  }
  return out;
}

beforeAll(async () => {
  await setupTestBackend();
});

afterEach(() => {
  expect(takeGpuError()).toBeNull();
});

describe('ConvNeXt block kernels on WebGPU', () => {
  const rng = new Rng(23);
  const random = (length: number, scale = 1, offset = 0) =>
    Float32Array.from({ length }, () => offset + scale * rng.normal());

  // 7×7 with borders on every side (30 pixels, not a multiple of the workgroup); a 3×3 kernel over 2 images
  it.each([
    [[1, 5, 6, 72], 7],
    [[2, 3, 4, 8], 3],
  ])(
    'depthwise conv + LayerNorm of %j with a square kernel of side %i matches the float64 reference',
    async (shape, k) => {
      const c = shape[3];
      const xData = random(
        shape.reduce((a, d) => a * d, 1),
        2,
        0.5,
      );
      const kernelData = random(k * k * c, 0.3);
      const [convBias, gain, shift] = [random(c, 0.1), random(c, 0.1, 1), random(c, 0.1)];
      const eps = 1e-6;
      const start = tf.memory().numTensors;
      const x = tf.tensor4d(xData, shape as [number, number, number, number]);
      const kernel = tf.tensor4d(kernelData, [k, k, c, 1]);
      const params = [convBias, gain, shift].map((v) => tf.tensor1d(v));
      const out = depthwiseConvLayerNorm(x, kernel, params[0], params[1], params[2], eps);
      expect(out.shape).toEqual(shape);
      const expected = dwConvLayerNormReference(xData, shape, kernelData, k, convBias, gain, shift, eps);
      expect(worstRelativeError(await out.data(), expected)).toBeLessThan(TOLERANCE);
      expect(
        compiledShaderKeys().some((key) => key.startsWith(`dearli_dwconv_layer_norm_${shape.join('x')}_${k}`)),
      ).toBe(true);
      // the composed path it replaces gives the same within the same tolerance
      const composed = tf.tidy(() =>
        layerNorm(
          tf.fused.depthwiseConv2d({ x, filter: kernel, strides: 1, pad: (k - 1) / 2, bias: params[0] }),
          params[1],
          params[2],
          eps,
        ),
      );
      expect(worstRelativeError(await out.data(), await composed.data())).toBeLessThan(TOLERANCE);
      tf.dispose([x, kernel, ...params, out, composed]);
      expect(tf.memory().numTensors).toBe(start);
    },
  );

  // channels not a multiple of 4; fewer pixels than MIN_FUSED_PIXELS
  it.each([[[1, 5, 6, 70]], [[1, 1, MIN_FUSED_PIXELS - 1, 8]]])('keeps the composed path for %j', async (shape) => {
    const c = shape[3];
    const xData = random(shape.reduce((a, d) => a * d, 1));
    const kernelData = random(49 * c, 0.3);
    const x = tf.tensor4d(xData, shape as [number, number, number, number]);
    const kernel = tf.tensor4d(kernelData, [7, 7, c, 1]);
    const [zeros, ones] = [tf.zeros([c]) as tf.Tensor1D, tf.ones([c]) as tf.Tensor1D];
    const out = depthwiseConvLayerNorm(x, kernel, zeros, ones, zeros, 1e-6);
    const [biases, gains] = [new Float32Array(c), new Float32Array(c).fill(1)];
    const expected = dwConvLayerNormReference(xData, shape, kernelData, 7, biases, gains, biases, 1e-6);
    expect(worstRelativeError(await out.data(), expected)).toBeLessThan(TOLERANCE);
    expect(compiledShaderKeys().some((key) => key.startsWith(`dearli_dwconv_layer_norm_${shape.join('x')}`))).toBe(
      false,
    );
    tf.dispose([x, kernel, zeros, ones, out]);
  });

  it('layer scale + residual gives x + γ⊙y', async () => {
    const [n, c] = [67, 5];
    const [xData, yData, gammaData] = [random(n * c), random(n * c), random(c, 0.1)];
    const [x, y, gamma] = [tf.tensor2d(xData, [n, c]), tf.tensor2d(yData, [n, c]), tf.tensor1d(gammaData)];
    const out = layerScaleResidual(x, y, gamma);
    const expected = Float64Array.from(xData, (v, i) => v + gammaData[i % c] * yData[i]);
    expect(worstRelativeError(await out.data(), expected)).toBeLessThan(1e-6);
    expect(compiledShaderKeys().some((key) => key.startsWith('dearli_layer_scale_residual'))).toBe(true);
    tf.dispose([x, y, gamma, out]);
  });
});

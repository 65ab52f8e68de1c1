/**
 * The small tfjs building blocks every model family shares. Tensors are channels-last (NHWC,
 * [..., C]); linear weights are stored [in, out] (the weight mapping transposes PyTorch's [out, in]
 * once at load time). All functions are differentiable with tfjs's registered gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedLayerNorm } from './layerNormKernels';

/**
 * LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm and timm's LayerNorm2d (on
 * NHWC). On WebGPU one kernel forward with its own gradient (layerNormKernels.ts), elsewhere composed.
 */
export function layerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor, bias: tf.Tensor, eps: number): T {
  if (tf.getBackend() === 'webgpu' && x.dtype === 'float32') return fusedLayerNorm(x, weight, bias, eps);
  return layerNormComposed(x, weight, bias, eps) as T;
}

/** layerNorm from tfjs ops (every backend; the reference the WebGPU kernels are tested against). */
export function layerNormComposed(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), -1, true);
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), weight), bias);
  });
}

/** Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (torch nn.GELU() default, timm's GELU). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/** y = x·W + b over the last axis; W is [in, out]. One kernel with the bias (tfjs keeps it fused under the gradient tape for a linear activation). */
export function linear<T extends tf.Tensor>(x: T, weight: tf.Tensor2D, bias?: tf.Tensor): T {
  return tf.tidy(() => {
    const inDim = x.shape[x.rank - 1];
    const flat = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
    const y = tf.fused.matMul({ a: flat, b: weight, bias });
    return tf.reshape(y, [...x.shape.slice(0, -1), weight.shape[1]]) as T;
  });
}

/**
 * softmax(q·kᵀ·scale + bias)·v for q [B, H, Nq, D], k/v [B, H, Nk, D].
 * `bias` is added to the logits (an additive mask: 0 where allowed, a large negative number where not).
 */
export function attention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  scale: number,
  bias?: tf.Tensor,
): tf.Tensor4D {
  return tf.tidy(() => {
    let logits: tf.Tensor = tf.matMul(tf.mul(q, scale), k, false, true);
    if (bias) logits = tf.add(logits, bias);
    return tf.matMul(tf.softmax(logits), v) as tf.Tensor4D;
  });
}

/** [B, N, H·D] → [B, H, N, D] */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [b, n, c] = x.shape;
  return tf.transpose(tf.reshape(x, [b, n, heads, c / heads]), [0, 2, 1, 3]);
}

/** [B, H, N, D] → [B, N, H·D] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, h, n, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, n, h * d]);
}

/**
 * Bilinear resize as two matrix products with PyTorch-exact interpolation matrices
 * (F.interpolate(mode="bilinear", align_corners=False), no antialias): y = R_h · X · R_wᵀ.
 * tfjs's resizeBilinear has a wrong gradient for halfPixelCenters=true; matMul's is exact.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Recently used interpolation matrices, least recent first. Bounded: evaluation resizes every image to
 * its own size, and a dataset of many sizes would otherwise keep one dense matrix per size pair forever.
 */
const matrixCache = new Map<string, Float32Array>();
const MATRIX_CACHE_BYTES = 32 * 2 ** 20;
let matrixCacheBytes = 0;

function cacheMatrix(key: string, r: Float32Array): void {
  matrixCache.set(key, r);
  matrixCacheBytes += r.byteLength;
  for (const [oldKey, old] of matrixCache) {
    if (matrixCacheBytes <= MATRIX_CACHE_BYTES || oldKey === key) break;
    matrixCache.delete(oldKey);
    matrixCacheBytes -= old.byteLength;
  }
}

/** Output sample o reads inputs first[o] and first[o] + 1 (clamped) with weights 1 − frac[o] and frac[o]. */
export interface InterpolationTaps {
  first: Int32Array;
  second: Int32Array;
  frac: Float64Array;
}

/** The two taps of every output sample (align_corners=False, source clamped at 0). */
export function interpolationTaps(outSize: number, inSize: number): InterpolationTaps {
  const first = new Int32Array(outSize);
  const second = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    first[o] = Math.min(Math.floor(src), inSize - 1);
    second[o] = Math.min(first[o] + 1, inSize - 1);
    frac[o] = src - first[o];
  }
  return { first, second, frac };
}

/** R [out, in]: row o holds the two taps of output sample o. */
export function interpolationMatrixValues(outSize: number, inSize: number): Float32Array {
  const key = `${outSize}:${inSize}`;
  const cached = matrixCache.get(key);
  if (cached) {
    matrixCache.delete(key);
    matrixCache.set(key, cached);
    return cached;
  }
  const r = new Float32Array(outSize * inSize);
  const { first, second, frac } = interpolationTaps(outSize, inSize);
  for (let o = 0; o < outSize; o++) {
    r[o * inSize + first[o]] += 1 - frac[o];
    r[o * inSize + second[o]] += frac[o];
  }
  cacheMatrix(key, r);
  return r;
}

function interpolationMatrix(outSize: number, inSize: number): tf.Tensor2D {
  return tf.tensor2d(interpolationMatrixValues(outSize, inSize), [outSize, inSize]);
}

/** Resizes the last two axes of [..., H, W] (mask logits [B, Q, H, W], planes). */
export function resizePlanes(x: tf.Tensor, outH: number, outW: number): tf.Tensor {
  const [h, w] = x.shape.slice(-2);
  if (h === outH && w === outW) return tf.clone(x);
  return tf.tidy(() => applyPlaneMatrices(x, interpolationMatrix(outH, h), interpolationMatrix(outW, w)));
}

/** y = R_h · X · R_wᵀ over the last two axes of [..., H, W], with R_h [outH, H] and R_w [outW, W]. */
export function applyPlaneMatrices(x: tf.Tensor, rowMatrix: tf.Tensor2D, columnMatrix: tf.Tensor2D): tf.Tensor {
  const shape = x.shape;
  const [h, w] = shape.slice(-2);
  const [outH, outW] = [rowMatrix.shape[0], columnMatrix.shape[0]];
  return tf.tidy(() => {
    const lead = shape.slice(0, -2);
    const n = lead.reduce((a, d) => a * d, 1);
    const alongW = tf.matMul(tf.reshape(x, [n * h, w]), columnMatrix, false, true); // [n·h, outW]
    const t = tf.reshape(tf.transpose(tf.reshape(alongW, [n, h, outW]), [0, 2, 1]), [n * outW, h]);
    const alongH = tf.matMul(t, rowMatrix, false, true); // [n·outW, outH]
    return tf.reshape(tf.transpose(tf.reshape(alongH, [n, outW, outH]), [0, 2, 1]), [...lead, outH, outW]);
  });
}

/** Resizes the spatial axes of an NHWC map. */
export function resizeNHWC(x: tf.Tensor4D, outH: number, outW: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (h === outH && w === outW) return tf.clone(x);
  return tf.tidy(() => {
    const rows = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, b * w * c]);
    const alongH = tf.reshape(tf.matMul(interpolationMatrix(outH, h), rows), [outH, b, w, c]);
    const cols = tf.reshape(tf.transpose(alongH, [2, 1, 0, 3]), [w, b * outH * c]);
    const alongW = tf.reshape(tf.matMul(interpolationMatrix(outW, w), cols), [outW, b, outH, c]);
    return tf.transpose(alongW, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

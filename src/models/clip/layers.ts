/** Weight containers shared by the CLIP modules (tfjs layout: linear weights [in, out], conv kernels HWIO). */
import type * as tf from '@tensorflow/tfjs';

export interface LayerNormWeights {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

export interface LinearWeights {
  /** [in, out] */
  weight: tf.Tensor2D;
  bias?: tf.Tensor1D;
}

export interface ConvWeights {
  /** [kh, kw, in, out]; depthwise: [kh, kw, C, 1] */
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

/** Every tensor in a (nested) weight object, for disposal. */
export function collectTensors(value: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  // Typed arrays (the CPU-side token embedding) hold no tensors and are huge: never walk them.
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return out;
  if ('dataId' in value && 'shape' in value) {
    out.push(value as tf.Tensor);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) collectTensors(v, out);
  return out;
}

/**
 * The one PyTorch → tfjs weight layout converter, on the host (one pass over the data, nothing
 * transposed on the GPU). Every model family's loader says which layout each parameter has.
 */

/**
 * 'conv': Conv2d [out, in, kh, kw] (and ConvTranspose2d [in, out, kh, kw]) → [kh, kw, in, out]
 * (resp. [kh, kw, out, in]), the same permutation; 'depthwise': [channels, 1, kh, kw] →
 * [kh, kw, channels, 1]; 'linear': [out, in] → [in, out]; 'keep': as stored (biases, norms,
 * embedding tables).
 */
export type TorchLayout = 'conv' | 'depthwise' | 'linear' | 'keep';

export function torchToTfjs(
  layout: TorchLayout,
  shape: readonly number[],
  data: Float32Array,
): { shape: number[]; data: Float32Array } {
  switch (layout) {
    case 'conv': {
      const [o, i, kh, kw] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++)
        for (let b = 0; b < i; b++)
          for (let y = 0; y < kh; y++)
            for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = data[((a * i + b) * kh + y) * kw + x];
      return { shape: [kh, kw, i, o], data: out };
    }
    case 'depthwise': {
      const [c, , kh, kw] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < c; a++) for (let p = 0; p < kh * kw; p++) out[p * c + a] = data[a * kh * kw + p];
      return { shape: [kh, kw, c, 1], data: out };
    }
    case 'linear': {
      const [o, i] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = data[a * i + b];
      return { shape: [i, o], data: out };
    }
    case 'keep':
      return { shape: [...shape], data };
  }
}

/** tfjs layout → PyTorch layout (the inverse of torchToTfjs, for writing checkpoints); `shape` is the torch shape. */
export function tfjsToTorch(layout: TorchLayout, shape: readonly number[], data: Float32Array): Float32Array {
  switch (layout) {
    case 'conv': {
      const [o, i, kh, kw] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++)
        for (let b = 0; b < i; b++)
          for (let y = 0; y < kh; y++)
            for (let x = 0; x < kw; x++) out[((a * i + b) * kh + y) * kw + x] = data[((y * kw + x) * i + b) * o + a];
      return out;
    }
    case 'depthwise': {
      const [c, , kh, kw] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < c; a++) for (let p = 0; p < kh * kw; p++) out[a * kh * kw + p] = data[p * c + a];
      return out;
    }
    case 'linear': {
      const [o, i] = shape;
      const out = new Float32Array(data.length);
      for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[a * i + b] = data[b * o + a];
      return out;
    }
    case 'keep':
      return data.slice();
  }
}

/**
 * OpenCLIP text tower: token embedding + positional embedding → pre-LN residual blocks with a causal
 * mask → ln_final → the row at argmax(ids) (the EOT token has the largest id) → x @ text_projection.
 *
 * The token embedding stays on the CPU as a Float32Array and the ≤ 77 rows per text are gathered in
 * JS: for the real models it is 49408 × width floats (126 MB at width 640), about the whole
 * storage-binding budget of many GPUs, for a lookup that touches a few kB.
 * Inference only: LayerNorm and GELU use the gradient-free fused kernels of ops/inferenceKernels.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { geluInference } from '../ops/inferenceKernels';
import { attention, layerNorm, linear, mergeHeads, splitHeads } from '../ops/nn';
import type { ClipTextConfig } from './config';
import { collectTensors, type LayerNormWeights, type LinearWeights } from './layers';

export interface TextBlockWeights {
  ln1: LayerNormWeights;
  /** Fused q|k|v projection, weight [W, 3W] (columns q, then k, then v). */
  qkv: LinearWeights;
  out: LinearWeights;
  ln2: LayerNormWeights;
  fc: LinearWeights;
  proj: LinearWeights;
}

export interface ClipTextWeights {
  /** [vocabSize · width] row-major, on the CPU on purpose. */
  tokenEmbedding: Float32Array;
  /** [contextLength, width] */
  positionalEmbedding: tf.Tensor2D;
  blocks: TextBlockWeights[];
  lnFinal: LayerNormWeights;
  /** [width, embedDim], applied as x @ P. */
  textProjection: tf.Tensor2D;
}

/**
 * Additive causal mask value. A finite number instead of −∞: WGSL lets compilers assume no infinities,
 * and exp(−1e9 − max) is exactly 0 in float32 anyway.
 */
const MASKED = -1e9;

/** Position of the first largest id in each row (open_clip pools at `text.argmax(dim=-1)`). */
export function eotIndices(ids: readonly Int32Array[]): Int32Array {
  return Int32Array.from(ids, (row) => {
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    return best;
  });
}

export class ClipTextTransformer {
  private readonly causalMask: tf.Tensor2D;

  constructor(
    readonly config: ClipTextConfig,
    readonly weights: ClipTextWeights,
  ) {
    const n = config.contextLength;
    const mask = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mask[i * n + j] = MASKED;
    this.causalMask = tf.tensor2d(mask, [n, n]);
  }

  private checkIds(ids: readonly Int32Array[]): void {
    const { contextLength, vocabSize } = this.config;
    if (ids.length === 0) throw new RangeError('encodeText needs at least one token row');
    for (const row of ids) {
      if (row.length !== contextLength)
        throw new RangeError(`token rows must have ${contextLength} ids, got ${row.length}`);
      for (const id of row)
        if (id < 0 || id >= vocabSize)
          throw new RangeError(`token id ${id} is outside the vocabulary (0..${vocabSize - 1})`);
    }
  }

  /** token_embedding[ids] + positional_embedding: [B, L, W]. Rows are gathered on the CPU. */
  embed(ids: readonly Int32Array[]): tf.Tensor3D {
    this.checkIds(ids);
    const { contextLength: n, width } = this.config;
    const table = this.weights.tokenEmbedding;
    const gathered = new Float32Array(ids.length * n * width);
    ids.forEach((row, b) => {
      for (let t = 0; t < n; t++)
        gathered.set(table.subarray(row[t] * width, (row[t] + 1) * width), (b * n + t) * width);
    });
    return tf.tidy(() => tf.add(tf.tensor3d(gathered, [ids.length, n, width]), this.weights.positionalEmbedding));
  }

  private block(w: TextBlockWeights, x: tf.Tensor3D): tf.Tensor3D {
    const { heads, width, eps } = this.config;
    return tf.tidy(() => {
      const qkv = linear(layerNorm(x, w.ln1.weight, w.ln1.bias, eps), w.qkv.weight, w.qkv.bias);
      const [q, k, v] = tf.split(qkv, 3, -1);
      const attended = attention(
        splitHeads(q, heads),
        splitHeads(k, heads),
        splitHeads(v, heads),
        1 / Math.sqrt(width / heads),
        this.causalMask,
      );
      const afterAttn = tf.add(x, linear(mergeHeads(attended), w.out.weight, w.out.bias));
      const hidden = geluInference(linear(layerNorm(afterAttn, w.ln2.weight, w.ln2.bias, eps), w.fc.weight, w.fc.bias));
      return tf.add(afterAttn, linear(hidden, w.proj.weight, w.proj.bias)) as tf.Tensor3D;
    });
  }

  /** The residual blocks: [B, L, W] → [B, L, W]. */
  forwardBlocks(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.weights.blocks.reduce((h, w) => this.block(w, h), x));
  }

  finalNorm(x: tf.Tensor3D): tf.Tensor3D {
    return layerNorm(x, this.weights.lnFinal.weight, this.weights.lnFinal.bias, this.config.eps) as tf.Tensor3D;
  }

  /** Rows at the EOT positions of the normalised sequence, projected: [B, embedDim]. */
  pool(normed: tf.Tensor3D, ids: readonly Int32Array[]): tf.Tensor2D {
    const [b, n, width] = normed.shape;
    const rows = Int32Array.from(eotIndices(ids), (eot, i) => i * n + eot);
    return tf.tidy(() => tf.matMul(tf.gather(tf.reshape(normed, [b * n, width]), rows), this.weights.textProjection));
  }

  /** open_clip `encode_text` (not L2-normalised): one embedding per row of 77 ids. */
  encode(ids: readonly Int32Array[]): tf.Tensor2D {
    return tf.tidy(() => this.pool(this.finalNorm(this.forwardBlocks(this.embed(ids))), ids));
  }

  dispose(): void {
    tf.dispose([this.causalMask, ...collectTensors(this.weights)]);
  }
}

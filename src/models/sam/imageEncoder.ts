/**
 * SAM's ViT image encoder (segment-anything `ImageEncoderViT`), channels-last:
 * patch conv → + abs pos → blocks (windowed or global attention with decomposed relative positions)
 * → neck (1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d). Input [1, S, S, 3] normalised and padded,
 * output [1, S/16, S/16, outChans].
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAttentionFits, fusedGridAttention } from '../ops/fusedAttention';
import { geluInference } from '../ops/inferenceKernels';
import { layerNorm, linear } from '../ops/nn';
import type { SamImageEncoderConfig } from './config';
import type { SamBlockDims } from './weights';

/** Largest attention-logit block computed at once (4 bytes each: 32 MB), so a 1024 px global layer never builds 800 MB of logits. */
const MAX_ATTENTION_LOGITS = 8 * 1024 * 1024;

/** segment-anything's LayerNorm2d default. */
const NECK_LAYER_NORM_EPS = 1e-6;

interface BlockParams {
  norm1: [tf.Tensor1D, tf.Tensor1D];
  qkvWeight: tf.Tensor2D;
  qkvBias?: tf.Tensor1D;
  projWeight: tf.Tensor2D;
  projBias: tf.Tensor1D;
  norm2: [tf.Tensor1D, tf.Tensor1D];
  lin1Weight: tf.Tensor2D;
  lin1Bias: tf.Tensor1D;
  lin2Weight: tf.Tensor2D;
  lin2Bias: tf.Tensor1D;
  heads: number;
  /** 0 for global attention. */
  windowSize: number;
  /** Relative-position tables gathered for this block's attention size, [q, headDim, k] (transposed for matMul). */
  relPosH?: tf.Tensor3D;
  relPosW?: tf.Tensor3D;
}

export interface ImageEncoderOutputs {
  patchEmbed: tf.Tensor4D;
  plusPosEmbed: tf.Tensor4D;
  blocks: tf.Tensor4D[];
  embeddings: tf.Tensor4D;
}

/**
 * torch F.interpolate(mode='linear', align_corners=False) as a [outLen, inLen] matrix: how a
 * relative-position table trained at another resolution is stretched.
 */
export function linearResizeMatrix(inLen: number, outLen: number): Float32Array {
  const m = new Float32Array(outLen * inLen);
  const scale = inLen / outLen;
  for (let i = 0; i < outLen; i++) {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), inLen - 1);
    const i1 = Math.min(i0 + 1, inLen - 1);
    const frac = src - i0;
    m[i * inLen + i0] += 1 - frac;
    m[i * inLen + i1] += frac;
  }
  return m;
}

/**
 * segment-anything `get_rel_pos`: R[i, k] = table[(i·max(k/q,1) − k·max(q/k,1)) + (k−1)·max(q/k,1)],
 * with the table first resized to 2·max(q,k)−1 entries when its length differs. Returns [q, headDim, k].
 */
export function relativePositionTable(table: tf.Tensor2D, qSize: number, kSize: number): tf.Tensor3D {
  return tf.tidy(() => {
    const maxDist = 2 * Math.max(qSize, kSize) - 1;
    const len = table.shape[0];
    const resized =
      len === maxDist ? table : tf.matMul(tf.tensor2d(linearResizeMatrix(len, maxDist), [maxDist, len]), table);
    const qScale = Math.max(kSize / qSize, 1);
    const kScale = Math.max(qSize / kSize, 1);
    const index = new Int32Array(qSize * kSize);
    for (let i = 0; i < qSize; i++) {
      for (let k = 0; k < kSize; k++) index[i * kSize + k] = Math.floor(i * qScale - k * kScale + (kSize - 1) * kScale);
    }
    const gathered = tf.gather(resized, tf.tensor1d(index, 'int32')).reshape([qSize, kSize, table.shape[1]]);
    return tf.transpose(gathered, [0, 2, 1]) as tf.Tensor3D;
  });
}

/**
 * Multi-head attention over a grid [B, H, W, C] with optional decomposed relative positions: one
 * fused WebGPU dispatch where it fits (ops/fusedAttention.ts), else composed of tfjs ops in
 * (head group × query-row block) chunks of at most `maxLogits` logits.
 */
function gridAttention(x: tf.Tensor4D, p: BlockParams, maxLogits: number, fused: boolean): tf.Tensor4D {
  const [batch, h, w] = x.shape;
  const n = h * w;
  const attnDim = p.qkvWeight.shape[1] / 3;
  const headDim = attnDim / p.heads;
  const shape = { batch, height: h, width: w, heads: p.heads, headDim };
  if (fused && fusedAttentionFits(shape)) {
    return tf.tidy(() => {
      const qkv = linear(x.reshape([batch, n, x.shape[3]]), p.qkvWeight, p.qkvBias) as tf.Tensor3D;
      const relPos = p.relPosH && p.relPosW ? { h: p.relPosH, w: p.relPosW } : undefined;
      const merged = fusedGridAttention(qkv, shape, relPos).reshape([batch, h, w, attnDim]);
      return linear(merged, p.projWeight, p.projBias) as tf.Tensor4D;
    });
  }
  const groups = batch * p.heads;
  const scale = headDim ** -0.5;
  // q, k, v: [B·heads, N, headDim]
  const [q, k, v] = tf.tidy(() => {
    const qkv = linear(x.reshape([batch, n, x.shape[3]]), p.qkvWeight, p.qkvBias).reshape([
      batch,
      n,
      3,
      p.heads,
      headDim,
    ]);
    return tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4]).reshape([3, groups, n, headDim]));
  });
  const perGroup = n * n;
  const groupsPerChunk = Math.max(1, Math.min(groups, Math.floor(maxLogits / perGroup)));
  const rowsPerChunk = perGroup <= maxLogits ? h : Math.max(1, Math.floor(maxLogits / (w * n)));
  const chunks: tf.Tensor[] = [];
  for (let g0 = 0; g0 < groups; g0 += groupsPerChunk) {
    const g = Math.min(groupsPerChunk, groups - g0);
    const rowPieces: tf.Tensor[] = [];
    for (let r0 = 0; r0 < h; r0 += rowsPerChunk) {
      const r = Math.min(rowsPerChunk, h - r0);
      rowPieces.push(
        tf.tidy(() => {
          const qBlock = q.slice([g0, r0 * w, 0], [g, r * w, headDim]);
          const kBlock = k.slice([g0, 0, 0], [g, n, headDim]);
          const vBlock = v.slice([g0, 0, 0], [g, n, headDim]);
          let logits: tf.Tensor = tf.matMul(tf.mul(qBlock, scale), kBlock, false, true);
          if (p.relPosH && p.relPosW) {
            // relative positions use the unscaled q, as upstream
            const qGrid = qBlock.reshape([g, r, w, headDim]);
            const rh = p.relPosH.slice([r0, 0, 0], [r, headDim, h]);
            const relH = tf
              .matMul(tf.transpose(qGrid, [1, 0, 2, 3]).reshape([r, g * w, headDim]), rh)
              .reshape([r, g, w, h])
              .transpose([1, 0, 2, 3])
              .reshape([g, r * w, h, 1]);
            const relW = tf
              .matMul(tf.transpose(qGrid, [2, 0, 1, 3]).reshape([w, g * r, headDim]), p.relPosW)
              .reshape([w, g, r, w])
              .transpose([1, 2, 0, 3])
              .reshape([g, r * w, 1, w]);
            logits = tf.add(tf.add(logits.reshape([g, r * w, h, w]), relH), relW).reshape([g, r * w, n]);
          }
          return tf.matMul(tf.softmax(logits), vBlock);
        }),
      );
    }
    chunks.push(rowPieces.length === 1 ? rowPieces[0] : tf.concat(rowPieces, 1));
    if (rowPieces.length > 1) tf.dispose(rowPieces);
  }
  tf.dispose([q, k, v]);
  return tf.tidy(() => {
    const out = chunks.length === 1 ? chunks[0] : tf.concat(chunks, 0);
    const merged = tf
      .transpose(out.reshape([batch, p.heads, h, w, headDim]), [0, 2, 3, 1, 4])
      .reshape([batch, h, w, attnDim]);
    tf.dispose(chunks);
    return linear(merged, p.projWeight, p.projBias) as tf.Tensor4D;
  });
}

/** [1, H, W, C] → zero-padded to multiples of ws → [nWindows, ws, ws, C]. */
function windowPartition(x: tf.Tensor4D, ws: number): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  const ph = (ws - (h % ws)) % ws;
  const pw = (ws - (w % ws)) % ws;
  const padded =
    ph || pw
      ? tf.pad(x, [
          [0, 0],
          [0, ph],
          [0, pw],
          [0, 0],
        ])
      : x;
  const hp = h + ph;
  const wp = w + pw;
  return tf
    .transpose(padded.reshape([hp / ws, ws, wp / ws, ws, c]), [0, 2, 1, 3, 4])
    .reshape([(hp / ws) * (wp / ws), ws, ws, c]);
}

function windowUnpartition(windows: tf.Tensor4D, ws: number, h: number, w: number): tf.Tensor4D {
  const c = windows.shape[3];
  const hp = Math.ceil(h / ws) * ws;
  const wp = Math.ceil(w / ws) * ws;
  const x = tf
    .transpose(windows.reshape([hp / ws, wp / ws, ws, ws, c]), [0, 2, 1, 3, 4])
    .reshape([1, hp, wp, c]) as tf.Tensor4D;
  return hp === h && wp === w ? x : x.slice([0, 0, 0, 0], [1, h, w, c]);
}

export class SamImageEncoder {
  readonly config: SamImageEncoderConfig;
  private readonly patchWeight: tf.Tensor4D;
  private readonly patchBias: tf.Tensor;
  private readonly posEmbed?: tf.Tensor;
  private readonly blocks: BlockParams[];
  private readonly neck: {
    conv1: tf.Tensor4D;
    ln1: [tf.Tensor1D, tf.Tensor1D];
    conv2: tf.Tensor4D;
    ln2: [tf.Tensor1D, tf.Tensor1D];
  };
  /** Tensors this encoder created itself (gathered rel-pos tables); the weights belong to the caller. */
  private readonly owned: tf.Tensor[] = [];
  maxAttentionLogits = MAX_ATTENTION_LOGITS;
  /** Attention as one fused WebGPU dispatch where it fits; false keeps the composed path (parity, benches). */
  fusedAttention = true;

  constructor(config: SamImageEncoderConfig, weights: Map<string, tf.Tensor>, blockDims: SamBlockDims[]) {
    this.config = config;
    const get = (name: string) => weights.get(`image_encoder.${name}`)!;
    this.patchWeight = get('patch_embed.proj.weight') as tf.Tensor4D;
    this.patchBias = get('patch_embed.proj.bias');
    this.posEmbed = config.useAbsPos ? get('pos_embed') : undefined;
    const grid = config.imgSize / config.patchSize;
    this.blocks = blockDims.map((_, i) => {
      const b = (name: string) => get(`blocks.${i}.${name}`);
      const vector = (name: string) => b(name) as tf.Tensor1D;
      const windowSize = config.globalAttnIndexes.includes(i) ? 0 : config.windowSize;
      const size = windowSize > 0 ? windowSize : grid;
      const params: BlockParams = {
        norm1: [vector('norm1.weight'), vector('norm1.bias')],
        qkvWeight: b('attn.qkv.weight') as tf.Tensor2D,
        qkvBias: config.qkvBias ? vector('attn.qkv.bias') : undefined,
        projWeight: b('attn.proj.weight') as tf.Tensor2D,
        projBias: vector('attn.proj.bias'),
        norm2: [vector('norm2.weight'), vector('norm2.bias')],
        lin1Weight: b('mlp.lin1.weight') as tf.Tensor2D,
        lin1Bias: vector('mlp.lin1.bias'),
        lin2Weight: b('mlp.lin2.weight') as tf.Tensor2D,
        lin2Bias: vector('mlp.lin2.bias'),
        heads: config.numHeads,
        windowSize,
      };
      if (config.useRelPos) {
        params.relPosH = relativePositionTable(b('attn.rel_pos_h') as tf.Tensor2D, size, size);
        params.relPosW = relativePositionTable(b('attn.rel_pos_w') as tf.Tensor2D, size, size);
        this.owned.push(params.relPosH, params.relPosW);
      }
      return params;
    });
    this.neck = {
      conv1: get('neck.0.weight') as tf.Tensor4D,
      ln1: [get('neck.1.weight') as tf.Tensor1D, get('neck.1.bias') as tf.Tensor1D],
      conv2: get('neck.2.weight') as tf.Tensor4D,
      ln2: [get('neck.3.weight') as tf.Tensor1D, get('neck.3.bias') as tf.Tensor1D],
    };
  }

  private block(x: tf.Tensor4D, p: BlockParams): tf.Tensor4D {
    const [, h, w] = x.shape;
    const normed = layerNorm(x, p.norm1[0], p.norm1[1], this.config.layerNormEps);
    let attended: tf.Tensor4D;
    if (p.windowSize > 0) {
      const windows = tf.tidy(() => windowPartition(normed, p.windowSize));
      const out = gridAttention(windows, p, this.maxAttentionLogits, this.fusedAttention);
      attended = tf.tidy(() => windowUnpartition(out, p.windowSize, h, w));
      tf.dispose([windows, out]);
    } else {
      attended = gridAttention(normed, p, this.maxAttentionLogits, this.fusedAttention);
    }
    normed.dispose();
    return tf.tidy(() => {
      const y = tf.add(x, attended);
      const hidden = geluInference(
        linear(layerNorm(y, p.norm2[0], p.norm2[1], this.config.layerNormEps), p.lin1Weight, p.lin1Bias),
      );
      attended.dispose();
      return tf.add(y, linear(hidden, p.lin2Weight, p.lin2Bias)) as tf.Tensor4D;
    });
  }

  /** Image embeddings [1, S/16, S/16, outChans] for a normalised, padded input [1, S, S, 3]. */
  forward(input: tf.Tensor4D): tf.Tensor4D {
    return this.encode(input, false).embeddings;
  }

  /** The embeddings plus the patch embedding, + pos embedding and every block output (parity tests). */
  forwardWithIntermediates(input: tf.Tensor4D): ImageEncoderOutputs {
    const { kept, embeddings } = this.encode(input, true);
    return { patchEmbed: kept[0], plusPosEmbed: kept[1], blocks: kept.slice(2), embeddings };
  }

  private encode(input: tf.Tensor4D, keep: boolean): { kept: tf.Tensor4D[]; embeddings: tf.Tensor4D } {
    const patchEmbed = tf.tidy(
      () => tf.add(tf.conv2d(input, this.patchWeight, this.config.patchSize, 'valid'), this.patchBias) as tf.Tensor4D,
    );
    let x = this.posEmbed ? (tf.add(patchEmbed, this.posEmbed) as tf.Tensor4D) : patchEmbed.clone();
    const kept = keep ? [patchEmbed, x] : [];
    if (!keep) patchEmbed.dispose();
    for (const p of this.blocks) {
      const next = this.block(x, p);
      if (keep) kept.push(next);
      else x.dispose();
      x = next;
    }
    const embeddings = tf.tidy(() => {
      const n = this.neck;
      const y = layerNorm(tf.conv2d(x, n.conv1, 1, 'valid'), n.ln1[0], n.ln1[1], NECK_LAYER_NORM_EPS);
      return layerNorm(tf.conv2d(y, n.conv2, 1, 'same'), n.ln2[0], n.ln2[1], NECK_LAYER_NORM_EPS);
    });
    if (!keep) x.dispose();
    return { kept, embeddings };
  }

  dispose(): void {
    tf.dispose(this.owned);
  }
}

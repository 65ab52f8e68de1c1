/**
 * Multi-scale deformable attention (Deformable DETR / Mask2Former's MSDeformAttn, pure-PyTorch
 * semantics): every query samples `points` locations per head and level around its reference
 * point, bilinearly (grid_sample, align_corners=False, zero padding), and sums them with attention
 * weights softmaxed jointly over levels×points. Sampling reads one table holding every level of
 * every (batch, head), and gradients reach values, offsets and attention weights: on WebGPU through
 * the sampling kernels' own gradients (samplingKernels.ts), elsewhere through one gather
 * (gather→unsortedSegmentSum) and the bilinear weights.
 */
import * as tf from '@tensorflow/tfjs';
import { linear } from '../ops/nn';
import { bilinearTaps } from '../ops/sampling';
import { bilinearSampleWeighted, samplingKernelsFit, type SamplingLayout } from '../ops/samplingKernels';
import { addLinear, XAVIER, ZEROS, type ParamTable } from './params';

export interface LevelShape {
  height: number;
  width: number;
}

export interface MsDeformAttnParams {
  valueProj: [tf.Tensor2D, tf.Tensor];
  samplingOffsets: [tf.Tensor2D, tf.Tensor];
  attentionWeights: [tf.Tensor2D, tf.Tensor];
  outputProj: [tf.Tensor2D, tf.Tensor];
}

/** Upstream MSDeformAttn offset bias: per-head direction (max-abs normalised) × (point index + 1). */
function samplingOffsetBias(heads: number, levels: number, points: number): number[] {
  const v: number[] = [];
  for (let h = 0; h < heads; h++) {
    const theta = (2 * Math.PI * h) / heads;
    const cx = Math.cos(theta);
    const cy = Math.sin(theta);
    const m = Math.max(Math.abs(cx), Math.abs(cy));
    for (let l = 0; l < levels; l++) for (let p = 0; p < points; p++) v.push((cx / m) * (p + 1), (cy / m) * (p + 1));
  }
  return v;
}

/** MSDeformAttn's parameters under `prefix` (MSDeformAttn._reset_parameters). */
export function declareMsDeformAttnParams(
  t: ParamTable,
  prefix: string,
  dim: number,
  heads: number,
  levels: number,
  points: number,
): void {
  const hp = heads * levels * points;
  addLinear(t, `${prefix}.sampling_offsets`, dim, hp * 2, ZEROS, {
    kind: 'constant',
    values: samplingOffsetBias(heads, levels, points),
  });
  addLinear(t, `${prefix}.attention_weights`, dim, hp, ZEROS, ZEROS);
  addLinear(t, `${prefix}.value_proj`, dim, dim, XAVIER, ZEROS);
  addLinear(t, `${prefix}.output_proj`, dim, dim, XAVIER, ZEROS);
}

/**
 * query [B, Nq, D]; reference [Nq, 2] normalised (x, y) shared by the batch; input [B, Nv, D] with
 * the levels' tokens concatenated row-major in `levels` order → [B, Nq, D].
 */
export function msDeformAttn(
  p: MsDeformAttnParams,
  heads: number,
  points: number,
  query: tf.Tensor3D,
  reference: tf.Tensor2D,
  input: tf.Tensor3D,
  levels: LevelShape[],
): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, nq, d] = query.shape;
    const nv = input.shape[1];
    const hd = d / heads;
    const nl = levels.length;
    const value = linear(input, p.valueProj[0], p.valueProj[1]);
    // Table rows: ((batch·heads + head)·Nv + token), headDim channels.
    const table = tf.reshape(tf.transpose(tf.reshape(value, [b, nv, heads, hd]), [0, 2, 1, 3]), [
      b * heads * nv,
      hd,
    ]) as tf.Tensor2D;
    const offsets = tf.reshape(linear(query, p.samplingOffsets[0], p.samplingOffsets[1]), [
      b,
      nq,
      heads,
      nl * points,
      2,
    ]);
    const [offX, offY] = tf.split(offsets, 2, -1).map((t) => tf.reshape(t, [b, nq, heads, nl, points]));
    const attn = tf.reshape(
      tf.softmax(tf.reshape(linear(query, p.attentionWeights[0], p.attentionWeights[1]), [b, nq, heads, nl * points])),
      [b, nq, heads, nl, points],
    );
    const [refX, refY] = tf
      .split(tf.reshape(reference, [1, nq, 1, 1, 2]), 2, -1)
      .map((t) => tf.reshape(t, [1, nq, 1, 1, 1]));
    // Per level: offsets are in that level's pixels; taps index the level's block of the table.
    const widths = tf.tensor(
      levels.map((l) => l.width),
      [1, 1, 1, nl, 1],
    );
    const heights = tf.tensor(
      levels.map((l) => l.height),
      [1, 1, 1, nl, 1],
    );
    const starts: number[] = [];
    levels.reduce((s, l) => (starts.push(s), s + l.height * l.width), 0);
    // Head-major (b, head, q, level, point): each (b, head, q) group sums its levels×points×taps.
    // (Float transposes only: tfjs-webgpu's transpose mis-types int32.)
    const headMajor = (t: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(t, [b, nq, heads, nl * points]), [0, 2, 1, 3]), [b, heads, nq, nl, points]);
    const x = headMajor(tf.add(refX, tf.div(offX, widths)));
    const y = headMajor(tf.add(refY, tf.div(offY, heights)));
    const layout: SamplingLayout = {
      levels: levels.map((l, i) => ({ ...l, start: starts[i] })),
      pointsPerLevel: points,
    };
    const groups = b * heads * nq;
    let sampled: tf.Tensor;
    if (samplingKernelsFit(table, layout)) {
      // Group (b, head, q) reads its (b, head) block of the table.
      const blocks = tf.floorDiv(tf.range(0, groups, 1, 'int32'), tf.scalar(nq, 'int32'));
      const rowBase = tf.mul(blocks, tf.scalar(nv, 'int32')) as tf.Tensor1D;
      const flat = (t: tf.Tensor) => tf.reshape(t, [groups, nl * points]) as tf.Tensor2D;
      sampled = bilinearSampleWeighted(table, rowBase, flat(x), flat(y), flat(headMajor(attn)), layout);
    } else {
      sampled = composedSampling(table, x, y, headMajor(attn), heights, widths, starts, [b, heads, nq, nv]);
    }
    const out = tf.reshape(sampled, [b, heads, nq, hd]);
    const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, nq, d]);
    return linear(merged, p.outputProj[0], p.outputProj[1]) as tf.Tensor3D;
  });
}

/**
 * The sampling of msDeformAttn from tfjs ops (every backend): taps, one gather of their table rows,
 * and one batched matMul per (batch, head, query) with the attention × bilinear weights.
 */
function composedSampling(
  table: tf.Tensor2D,
  x: tf.Tensor,
  y: tf.Tensor,
  attn: tf.Tensor,
  heights: tf.Tensor,
  widths: tf.Tensor,
  starts: number[],
  [b, heads, nq, nv]: number[],
): tf.Tensor {
  const rowOffset = tf.add(
    tf.reshape(tf.range(0, b * heads * nv, nv, 'int32'), [b, heads, 1, 1, 1]),
    tf.tensor(starts, [1, 1, 1, starts.length, 1], 'int32'),
  );
  const taps = bilinearTaps(x, y, heights, widths, rowOffset);
  const k = (attn.size / (b * heads * nq)) * 4;
  const weights = tf.reshape(tf.mul(taps.weights, tf.reshape(attn, [-1, 1])), [b * heads * nq, 1, k]);
  const sampled = tf.reshape(tf.gather(table, tf.reshape(taps.indices, [-1])), [b * heads * nq, k, table.shape[1]]);
  return tf.matMul(weights, sampled);
}

/** Normalised pixel centres of every token of every level, concatenated: [ΣH·W, 2] as (x, y). */
export function encoderReferencePoints(levels: LevelShape[]): Float32Array {
  const n = levels.reduce((a, l) => a + l.height * l.width, 0);
  const out = new Float32Array(n * 2);
  let i = 0;
  for (const { height, width } of levels) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        out[i++] = (x + 0.5) / width;
        out[i++] = (y + 0.5) / height;
      }
    }
  }
  return out;
}

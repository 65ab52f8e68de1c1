/**
 * SAM's image-encoder attention (segment-anything `Attention`) as one WebGPU dispatch, inference only:
 * softmax(q·kᵀ·scale + rel_h + rel_w)·v per head, read straight from the qkv projection and written
 * in the merged-heads layout the output projection reads. Online softmax (FlashAttention): each thread
 * keeps one query row's running max, running sum and weighted sum of v while the workgroup streams
 * tiles of k and v through shared memory, so the [N, N] logits never exist (a 1024 px global layer
 * would need 800 MB of them) and no chunking is needed. The decomposed relative positions of
 * `add_decomposed_rel_pos` are computed per query row in the same dispatch: rel_h[kh] = q·Rh[qy, :, kh]
 * and rel_w[kw] = q·Rw[qx, :, kw] (unscaled q, as upstream), added to the logit of key (kh, kw).
 *
 * Limits (the caller keeps its composed path beyond them, see `fusedAttentionFits`): WebGPU only, head
 * dim ≤ MAX_FUSED_HEAD_DIM and grid sides ≤ MAX_FUSED_GRID_SIDE (per-thread arrays are sized by them),
 * float32. No gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { runProgram, type WebGpuProgram } from './webgpuProgram';

export const MAX_FUSED_HEAD_DIM = 128;
export const MAX_FUSED_GRID_SIDE = 128;
/** Query rows per workgroup: one thread each. */
const QUERY_ROWS = 64;
/** WebGPU's guaranteed maxComputeWorkgroupStorageSize (bytes), shared by the k and v tiles. */
const WORKGROUP_STORAGE = 16384;
const MAX_KEY_TILE = 64;

export interface FusedAttentionShape {
  /** Windows (or 1 for global attention). */
  batch: number;
  height: number;
  width: number;
  heads: number;
  headDim: number;
}

/** Whether the fused kernel can run this attention here (else keep the composed path). */
export function fusedAttentionFits(s: FusedAttentionShape): boolean {
  return (
    tf.getBackend() === 'webgpu' &&
    s.headDim >= 1 &&
    s.headDim <= MAX_FUSED_HEAD_DIM &&
    s.height >= 1 &&
    s.width >= 1 &&
    s.height <= MAX_FUSED_GRID_SIDE &&
    s.width <= MAX_FUSED_GRID_SIDE
  );
}

class FusedGridAttentionProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [QUERY_ROWS, 1, 1];
  /** A uniform the shader reads (tfjs binds its uniform buffer, and WebGPU refuses an unused binding). */
  uniforms = 'scale : f32,';
  private readonly s: FusedAttentionShape;
  private readonly relative: boolean;
  private readonly keyTile: number;

  constructor(s: FusedAttentionShape, relative: boolean) {
    this.s = s;
    this.relative = relative;
    this.keyTile = Math.min(MAX_KEY_TILE, Math.floor(WORKGROUP_STORAGE / (2 * 4 * s.headDim)));
    const n = s.height * s.width;
    this.variableNames = relative ? ['QKV', 'RelPosH', 'RelPosW'] : ['QKV'];
    this.outputShape = [s.batch, n, s.heads * s.headDim];
    this.dispatchLayout = { x: [0, 1, 2] };
    this.dispatch = [Math.ceil(n / QUERY_ROWS) * s.batch * s.heads, 1, 1];
    this.shaderKey = `dearli_fused_attention_${s.batch}_${s.height}_${s.width}_${s.heads}_${s.headDim}_${relative}`;
  }

  getUserCode(): string {
    const { batch, height, width, heads, headDim } = this.s;
    const n = height * width;
    const relativeTerms = this.relative
      ? `
        var relH : array<f32, H>;
        var relW : array<f32, W>;
        let qy = query / W;
        let qx = query - qy * W;
        for (var k = 0; k < H; k++) {
          var s = 0.0;
          for (var d = 0; d < D; d++) {
            s += q[d] * RelPosH[(qy * D + d) * H + k];
          }
          relH[k] = s;
        }
        for (var k = 0; k < W; k++) {
          var s = 0.0;
          for (var d = 0; d < D; d++) {
            s += q[d] * RelPosW[(qx * D + d) * W + k];
          }
          relW[k] = s;
        }`
      : '';
    const relativeLogit = this.relative ? 's += relH[key / W] + relW[key % W];' : '';
    return `
      const D = ${headDim};
      const H = ${height};
      const W = ${width};
      const N = ${n};
      const HEADS = ${heads};
      const GROUPS = ${batch * heads};
      const QUERY_BLOCKS = ${Math.ceil(n / QUERY_ROWS)};
      const QUERY_ROWS = ${QUERY_ROWS};
      const TILE = ${this.keyTile};
      const TOKEN_STRIDE = ${3 * heads * headDim};

      var<workgroup> kTile : array<f32, ${this.keyTile * headDim}>;
      var<workgroup> vTile : array<f32, ${this.keyTile * headDim}>;

      fn main(index : i32) {
        // Barriers below need uniform control flow: rows past the end compute on clamped indices
        // and skip only the write.
        let block = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y +
            workgroupId.y * numWorkgroups.x + workgroupId.x);
        let lane = i32(localIndex);
        let rawGroup = block / QUERY_BLOCKS;
        let rawQuery = (block - rawGroup * QUERY_BLOCKS) * QUERY_ROWS + lane;
        let valid = rawGroup < GROUPS && rawQuery < N;
        let group = min(rawGroup, GROUPS - 1);
        let query = min(rawQuery, N - 1);
        let tokenBase = (group / HEADS) * N;
        let headOffset = (group % HEADS) * D;

        var q : array<f32, D>;
        var acc : array<f32, D>;
        let qBase = (tokenBase + query) * TOKEN_STRIDE + headOffset;
        for (var d = 0; d < D; d++) {
          q[d] = QKV[qBase + d];
          acc[d] = 0.0;
        }
        ${relativeTerms}
        for (var d = 0; d < D; d++) {
          q[d] *= uniforms.scale;
        }

        var runMax = -3.0e38;
        var runSum = 0.0;
        var scores : array<f32, TILE>;
        for (var t0 = 0; t0 < N; t0 += TILE) {
          for (var e = lane; e < TILE * D; e += QUERY_ROWS) {
            let j = t0 + e / D;
            if (j < N) {
              let src = (tokenBase + j) * TOKEN_STRIDE + headOffset + e % D;
              kTile[e] = QKV[src + HEADS * D];
              vTile[e] = QKV[src + 2 * HEADS * D];
            }
          }
          workgroupBarrier();
          let count = min(TILE, N - t0);
          var tileMax = runMax;
          for (var j = 0; j < count; j++) {
            var s = 0.0;
            for (var d = 0; d < D; d++) {
              s += q[d] * kTile[j * D + d];
            }
            let key = t0 + j;
            ${relativeLogit}
            scores[j] = s;
            tileMax = max(tileMax, s);
          }
          // rescale what was summed under the old max once per tile
          let correction = exp(runMax - tileMax);
          runSum *= correction;
          for (var d = 0; d < D; d++) {
            acc[d] *= correction;
          }
          for (var j = 0; j < count; j++) {
            let p = exp(scores[j] - tileMax);
            runSum += p;
            for (var d = 0; d < D; d++) {
              acc[d] += p * vTile[j * D + d];
            }
          }
          runMax = tileMax;
          workgroupBarrier();
        }
        if (valid) {
          let outBase = (tokenBase + query) * HEADS * D + headOffset;
          for (var d = 0; d < D; d++) {
            setOutputAtIndex(outBase + d, acc[d] / runSum);
          }
        }
      }
    `;
  }
}

/**
 * Multi-head attention over grids of height×width tokens: qkv [batch, N, 3·heads·headDim] as SAM's
 * qkv linear writes it (q, k, v, then heads, then channels), relative-position tables [H, headDim, H]
 * and [W, headDim, W] (query, channel, key) or none. Returns [batch, N, heads·headDim], heads merged.
 * Only where `fusedAttentionFits`.
 */
export function fusedGridAttention(
  qkv: tf.Tensor3D,
  shape: FusedAttentionShape,
  relPos?: { h: tf.Tensor3D; w: tf.Tensor3D },
): tf.Tensor3D {
  const inputs = relPos ? [qkv, relPos.h, relPos.w] : [qkv];
  return runProgram(new FusedGridAttentionProgram(shape, relPos !== undefined), inputs, [
    { type: 'float32', data: [shape.headDim ** -0.5] },
  ]) as tf.Tensor3D;
}

/**
 * The fused attention kernel (fusedAttention.ts) against a float64 JS reference of segment-anything's
 * Attention with decomposed relative positions, and SAM's image encoder with and without it on the
 * sam-tiny fixture (tolerance from the fixture file).
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { compiledShaderKeys, setupTestBackend, worstRelativeError } from '../../../test/backend';
import {
  compareToReference,
  loadFixtureTensors,
  openFixtureSafetensors,
  readFixtureJson,
  toleranceFor,
  type TolerancePattern,
} from '../../../test/fixtures';
import { takeGpuError } from '../backend';
import { samConfigFromFixture } from '../sam/config';
import { normalizeAndPad } from '../sam/preprocess';
import { SamModel } from '../sam/sam';
import { safetensorsSource } from '../weights/tensorSource';
import {
  fusedAttentionFits,
  fusedGridAttention,
  MAX_FUSED_GRID_SIDE,
  MAX_FUSED_HEAD_DIM,
  type FusedAttentionShape,
} from './fusedAttention';

/** float32 kernel vs float64 reference: sums of up to 81 products of O(10) logits, then softmax. */
const KERNEL_TOLERANCE = 2e-5;

/**
 * softmax(q·kᵀ/√d + rel_h + rel_w)·v per (batch, head) in float64, straight from the definitions:
 * rel_h[i, kh] = Σ_d q[i, d]·Rh[qy(i), d, kh], rel_w[i, kw] = Σ_d q[i, d]·Rw[qx(i), d, kw].
 */
function attentionReference(
  qkv: Float32Array,
  s: FusedAttentionShape,
  relH?: Float32Array,
  relW?: Float32Array,
): Float64Array {
  const { batch, height: h, width: w, heads, headDim: d } = s;
  const n = h * w;
  const a = heads * d;
  const at = (b: number, token: number, which: number, head: number, c: number) =>
    qkv[(b * n + token) * 3 * a + which * a + head * d + c];
  const out = new Float64Array(batch * n * a);
  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < heads; head++) {
      for (let i = 0; i < n; i++) {
        const [qy, qx] = [Math.floor(i / w), i % w];
        const logits = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          const [ky, kx] = [Math.floor(j / w), j % w];
          let dot = 0;
          let rel = 0;
          for (let c = 0; c < d; c++) {
            const q = at(b, i, 0, head, c);
            dot += q * at(b, j, 1, head, c);
            if (relH && relW) rel += q * (relH[(qy * d + c) * h + ky] + relW[(qx * d + c) * w + kx]);
          }
          logits[j] = dot / Math.sqrt(d) + rel;
        }
        const max = Math.max(...logits);
        const weights = logits.map((l) => Math.exp(l - max));
        const total = weights.reduce((x, y) => x + y, 0);
        for (let c = 0; c < d; c++) {
          let sum = 0;
          for (let j = 0; j < n; j++) sum += weights[j] * at(b, j, 2, head, c);
          out[(b * n + i) * a + head * d + c] = sum / total;
        }
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

describe('fused grid attention kernel', () => {
  const rng = new Rng(5);
  const random = (length: number, scale: number) => Float32Array.from({ length }, () => scale * rng.normal());

  // Window-like (2 windows, 3×5, head dim 14 as SlimSAM), one key tile and one query block; global-like
  // 9×9 (81 queries: 2 query blocks, 2 key tiles of 64); head dim 64 (key tiles of 32) without rel-pos.
  const cases: [FusedAttentionShape, boolean][] = [
    [{ batch: 2, height: 3, width: 5, heads: 2, headDim: 14 }, true],
    [{ batch: 1, height: 9, width: 9, heads: 1, headDim: 14 }, true],
    [{ batch: 1, height: 5, width: 7, heads: 1, headDim: 64 }, false],
  ];
  it.each(cases)('matches the float64 reference for %j (relative positions: %s)', async (shape, relative) => {
    const n = shape.height * shape.width;
    const a = shape.heads * shape.headDim;
    // logits of O(10) so the running max changes between key tiles
    const qkvData = random(shape.batch * n * 3 * a, 1.5);
    const relHData = random(shape.height * shape.headDim * shape.height, 0.3);
    const relWData = random(shape.width * shape.headDim * shape.width, 0.3);
    expect(fusedAttentionFits(shape)).toBe(true);
    const start = tf.memory().numTensors;
    const qkv = tf.tensor3d(qkvData, [shape.batch, n, 3 * a]);
    const relPos = relative
      ? {
          h: tf.tensor3d(relHData, [shape.height, shape.headDim, shape.height]),
          w: tf.tensor3d(relWData, [shape.width, shape.headDim, shape.width]),
        }
      : undefined;
    const out = fusedGridAttention(qkv, shape, relPos);
    expect(out.shape).toEqual([shape.batch, n, a]);
    const actual = await out.data();
    const expected = attentionReference(
      qkvData,
      shape,
      relative ? relHData : undefined,
      relative ? relWData : undefined,
    );
    expect(worstRelativeError(actual, expected)).toBeLessThan(KERNEL_TOLERANCE);
    tf.dispose([qkv, out, ...(relPos ? [relPos.h, relPos.w] : [])]);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('declines head dims and grid sides past its limits', () => {
    const shape = { batch: 1, height: 2, width: 2, heads: 1, headDim: MAX_FUSED_HEAD_DIM };
    expect(fusedAttentionFits(shape)).toBe(true);
    expect(fusedAttentionFits({ ...shape, headDim: MAX_FUSED_HEAD_DIM + 1 })).toBe(false);
    expect(fusedAttentionFits({ ...shape, height: MAX_FUSED_GRID_SIDE + 1 })).toBe(false);
    expect(fusedAttentionFits({ ...shape, width: MAX_FUSED_GRID_SIDE + 1 })).toBe(false);
  });
});

describe('SAM image encoder with fused attention', () => {
  it('gives the composed path’s block outputs and embeddings on the sam-tiny fixture', async () => {
    const DIR = 'sam-tiny';
    const json = await readFixtureJson<{ tolerances: { patterns: TolerancePattern[] } }>(`${DIR}/config.json`);
    const config = samConfigFromFixture(json, `${DIR}/config.json`);
    const model = await SamModel.load(
      safetensorsSource(await openFixtureSafetensors(`${DIR}/sam_original.safetensors`)),
      config,
    );
    const resized = (await loadFixtureTensors(`${DIR}/cases.safetensors`)).get('image_resized_uint8_hwc')!;
    const input = normalizeAndPad(resized.data as Uint8Array, resized.shape[1], resized.shape[0], config);
    const encoder = model.imageEncoder;
    encoder.fusedAttention = false;
    const composed = encoder.forwardWithIntermediates(input);
    encoder.fusedAttention = true;
    const fused = encoder.forwardWithIntermediates(input);
    // the windowed block (4 windows of 3×3: the 4×4 grid padded to 6×6) and the global block ran fused
    const shaders = compiledShaderKeys();
    for (const key of ['dearli_fused_attention_4_3_3_2_16_true', 'dearli_fused_attention_1_4_4_2_16_true'])
      expect(shaders.some((k) => k.startsWith(key))).toBe(true);
    const pairs: [string, tf.Tensor, tf.Tensor][] = [
      ...composed.blocks.map(
        (t, i) => [`enc_block${i}_out_nhwc`, t, fused.blocks[i]] as [string, tf.Tensor, tf.Tensor],
      ),
      ['image_embeddings_nchw', composed.embeddings, fused.embeddings],
    ];
    for (const [name, expected, actual] of pairs) {
      const c = compareToReference(
        name,
        await actual.data(),
        await expected.data(),
        toleranceFor(name, json.tolerances.patterns),
      );
      expect(c.ok, c.message).toBe(true);
    }
    tf.dispose([input, ...Object.values(composed).flat(), ...Object.values(fused).flat()]);
    model.dispose();
  });
});

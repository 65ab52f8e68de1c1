/**
 * The teacher's pseudo-labels (fidelity-review §9.2 steps 2-4, upstream `teacher.py:194-311`):
 *   - on the GPU, one teacher forward on the weak views gives the final class logits and s4 mask
 *     logits; P_CLIP's logits come from mask pooling over the res5 map of that same forward (never
 *     the cached 320-px maps); one readback;
 *   - on the host, P_ENS = normalise(P_MT^α · P_CLIP^(1−α)) with the void probability re-attached,
 *     the mask logits upsampled to the whole padded canvas (so the pseudo-label covers the padding,
 *     as upstream's no-op sem_seg_postprocess), and M2F panoptic inference (threshold 0.0,
 *     overlap 0.8).
 * The upsampling runs on the host so the readback stays at s4 (a 640² canvas × 200 queries would be
 * 330 MB per image).
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipImageHead } from '../models/clip/head';
import { maskPool, zeroShotLogits } from '../models/clip/zeroShot';
import type { TextClassifier } from '../models/decoder/classHead';
import type { M2FLang, TrunkFeatures } from '../models/decoder/m2fLang';
import { interpolationMatrixValues } from '../models/ops/resize';
import { panopticInference, softmaxRows, type PanopticResult } from './panopticInference';

/** Upstream GEOMETRIC_ENSEMBLE_ALPHA 0.4 is CLIP's weight; α here weighs the mask transformer (paper's α). */
export const UPSTREAM_ENSEMBLE_ALPHA = 0.6;

/** Upstream stores the re-attached probabilities as log(p + 1e-8). */
const LOG_EPS = 1e-8;

/**
 * teacherLogits [Q, C+1] (void last), clipLogits [Q, C] → log-probabilities [Q, C+1]:
 * P_MT = softmax over the first C columns, P_CLIP = softmax over C, P_ENS = normalise(P_MT^α·P_CLIP^(1−α)),
 * p_void = softmax over all C+1 [void]; result = log([P_ENS·(1 − p_void), p_void] + 1e-8).
 */
export function ensemblePosteriors(
  teacherLogits: ArrayLike<number>,
  clipLogits: ArrayLike<number>,
  numQueries: number,
  numClasses: number,
  alpha: number,
): Float64Array {
  const c1 = numClasses + 1;
  const withVoid = softmaxRows(teacherLogits, numQueries, c1);
  const pClip = softmaxRows(clipLogits, numQueries, numClasses);
  const firstC = new Float64Array(numQueries * numClasses);
  for (let q = 0; q < numQueries; q++)
    for (let c = 0; c < numClasses; c++) firstC[q * numClasses + c] = teacherLogits[q * c1 + c];
  const pMt = softmaxRows(firstC, numQueries, numClasses);
  const out = new Float64Array(numQueries * c1);
  const ens = new Float64Array(numClasses);
  for (let q = 0; q < numQueries; q++) {
    const pVoid = withVoid[q * c1 + numClasses];
    let sum = 0;
    for (let c = 0; c < numClasses; c++) {
      ens[c] = Math.pow(pMt[q * numClasses + c], alpha) * Math.pow(pClip[q * numClasses + c], 1 - alpha);
      sum += ens[c];
    }
    for (let c = 0; c < numClasses; c++) out[q * c1 + c] = Math.log((ens[c] / sum) * (1 - pVoid) + LOG_EPS);
    out[q * c1 + numClasses] = Math.log(pVoid + LOG_EPS);
  }
  return out;
}

/** Bilinear resize (PyTorch align_corners=False) of planes [N, h, w] → [N, outH, outW] on the host. */
export function resizePlanesHost(
  planes: ArrayLike<number>,
  count: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Float32Array {
  const taps = (out: number, inSize: number) => {
    const m = interpolationMatrixValues(out, inSize);
    const index = new Int32Array(2 * out);
    const weight = new Float64Array(2 * out);
    for (let o = 0; o < out; o++) {
      let k = 0;
      for (let i = 0; i < inSize && k < 2; i++) {
        if (m[o * inSize + i] !== 0) {
          index[2 * o + k] = i;
          weight[2 * o + k] = m[o * inSize + i];
          k++;
        }
      }
    }
    return { index, weight };
  };
  const ty = taps(outH, h);
  const tx = taps(outW, w);
  const out = new Float32Array(count * outH * outW);
  const row = new Float64Array(outW);
  for (let n = 0; n < count; n++) {
    const src = n * h * w;
    const dst = n * outH * outW;
    for (let y = 0; y < outH; y++) {
      row.fill(0);
      for (let a = 0; a < 2; a++) {
        const wy = ty.weight[2 * y + a];
        if (wy === 0) continue;
        const base = src + ty.index[2 * y + a] * w;
        for (let x = 0; x < outW; x++)
          row[x] +=
            wy *
            (tx.weight[2 * x] * planes[base + tx.index[2 * x]] +
              tx.weight[2 * x + 1] * planes[base + tx.index[2 * x + 1]]);
      }
      out.set(row, dst + y * outW);
    }
  }
  return out;
}

export interface PseudoLabelOptions {
  numClasses: number;
  isThing: (classIndex: number) => boolean;
  /** Weight of P_MT in the geometric ensemble (default UPSTREAM_ENSEMBLE_ALPHA). */
  alpha: number;
  /** Upstream: the student's OBJECT_MASK_THRESHOLD 0.0. */
  objectMaskThreshold?: number;
  /** Upstream: 0.8. */
  overlapThreshold?: number;
}

/** One view's pseudo-label from teacher logits [Q, C+1], CLIP logits [Q, C] and s4 mask logits [Q, h, w] → id map on the canvas. */
export function pseudoLabel(
  teacherLogits: ArrayLike<number>,
  clipLogits: ArrayLike<number>,
  maskLogits: ArrayLike<number>,
  numQueries: number,
  maskSize: [number, number],
  canvas: number,
  options: PseudoLabelOptions,
): PanopticResult {
  const scores = ensemblePosteriors(teacherLogits, clipLogits, numQueries, options.numClasses, options.alpha);
  const masks = resizePlanesHost(maskLogits, numQueries, maskSize[0], maskSize[1], canvas, canvas);
  return panopticInference(scores, masks, numQueries, canvas, canvas, {
    numClasses: options.numClasses,
    isThing: options.isThing,
    objectMaskThreshold: options.objectMaskThreshold ?? 0.0,
    overlapThreshold: options.overlapThreshold ?? 0.8,
  });
}

/** What the teacher reads back per batch of views (row-major, batch first). */
export interface TeacherOutputs {
  views: number;
  numQueries: number;
  numClasses: number;
  /** [B, Q, C+1]. */
  classLogits: Float32Array;
  /** [B, Q, C]: CLIP zero-shot logits of the teacher's masks (void column never computed). */
  clipLogits: Float32Array;
  /** [B, Q, h, w] at stride 4. */
  maskLogits: Float32Array;
  maskSize: [number, number];
}

export interface ClipBranch {
  head: ClipImageHead;
  /** CLIP's stored log temperature (the scale used is min(exp, 100)). */
  logitScale: number;
}

/** Teacher forward (final layer only) + same-forward P_CLIP logits, read back once. */
export async function teacherOutputs(
  teacher: M2FLang,
  features: TrunkFeatures,
  classifier: TextClassifier,
  clip: ClipBranch,
): Promise<TeacherOutputs> {
  const [packed, shape] = tf.tidy(() => {
    const preds = teacher.forward(features, classifier);
    const last = preds[preds.length - 1];
    const pooled = maskPool(features.res5, last.maskLogits);
    const clipLogits = zeroShotLogits(clip.head.project(pooled), classifier, clip.logitScale);
    const flat = tf.concat([
      tf.reshape(last.classLogits, [-1]),
      tf.reshape(clipLogits, [-1]),
      tf.reshape(last.maskLogits, [-1]),
    ]);
    return [flat, last.maskLogits.shape] as const;
  });
  const data = (await packed.data()) as Float32Array;
  packed.dispose();
  const [b, q, h, w] = shape;
  const c = classifier.numClasses;
  const a = b * q * (c + 1);
  const m = b * q * c;
  return {
    views: b,
    numQueries: q,
    numClasses: c,
    classLogits: data.subarray(0, a),
    clipLogits: data.subarray(a, a + m),
    maskLogits: data.subarray(a + m),
    maskSize: [h, w],
  };
}

/** The pseudo-label of view i of a teacher readback. */
export function pseudoLabelOfView(
  out: TeacherOutputs,
  i: number,
  canvas: number,
  options: Omit<PseudoLabelOptions, 'numClasses'>,
): PanopticResult {
  const { numQueries: q, numClasses: c, maskSize } = out;
  const plane = maskSize[0] * maskSize[1];
  return pseudoLabel(
    out.classLogits.subarray(i * q * (c + 1), (i + 1) * q * (c + 1)),
    out.clipLogits.subarray(i * q * c, (i + 1) * q * c),
    out.maskLogits.subarray(i * q * plane, (i + 1) * q * plane),
    q,
    maskSize,
    canvas,
    { ...options, numClasses: c },
  );
}

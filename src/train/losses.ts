/**
 * Mask2Former's set criterion (method-spec §3.1) and the matching costs its Hungarian matcher
 * needs, on point samples of the masks. Split in two GPU phases around one CPU readback:
 *   1. matchingCosts: no-grad costs for every prediction layer (deep supervision re-matches each);
 *   2. setCriterionLoss: differentiable losses given the matches (inside the gradient tape).
 * Point sets are a fixed low-discrepancy (R2) set per size, shifted per mask/image by a random
 * offset modulo 1 (Cranley–Patterson rotation): uniformly distributed points from a few uploaded
 * numbers instead of megabytes of random coordinates per step. Importance sampling (PointRend):
 * oversample ×3, keep the 75 % most uncertain (−|logit|, chosen by topk on detached logits) plus
 * fresh uniform points.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng';
import { detach } from '../models/ops/gradients';
import { samplePlanes } from '../models/ops/sampling';
import type { DecoderPrediction } from '../models/decoder/transformerDecoder';

export interface CriterionConfig {
  numClasses: number;
  /** 2 for labeled/pseudo-labeled training; 0 for DeWa (class-agnostic). */
  classWeight: number;
  maskWeight: number;
  diceWeight: number;
  noObjectWeight: number;
  trainPoints: number;
  oversampleRatio: number;
  importanceRatio: number;
}

export function criterionConfig(
  numClasses: number,
  points: { trainPoints: number; oversampleRatio: number; importanceRatio: number },
  dewa = false,
): CriterionConfig {
  return { numClasses, classWeight: dewa ? 0 : 2, maskWeight: 5, diceWeight: 5, noObjectWeight: 0.1, ...points };
}

/** Ground truth of one batch; shapes are static for a run (maxTargets fixed) so GPU buffers are reused. */
export interface TargetBatch {
  /** [B·maxTargets, Hg, Wg] binary masks (0/1 floats) at any resolution; unused slots are empty. */
  masks: tf.Tensor3D;
  maxTargets: number;
  /** Per image: the class of each real target (its length is the target count). */
  classes: Int32Array[];
}

/** Matches of every (layer, image): query and target indices. */
export interface LayerMatches {
  queries: Int32Array;
  targets: Int32Array;
}

const r2Cache = new Map<number, Float32Array>();

/** First n points of the R2 sequence in [0,1)², interleaved (x, y). */
export function r2Points(n: number): Float32Array {
  const hit = r2Cache.get(n);
  if (hit) return hit;
  const g = 1.324717957244746; // plastic number (nearest double)
  const a1 = 1 / g;
  const a2 = 1 / (g * g);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = (0.5 + a1 * (i + 1)) % 1;
    out[2 * i + 1] = (0.5 + a2 * (i + 1)) % 1;
  }
  r2Cache.set(n, out);
  return out;
}

/** Rotated point sets: x, y [groups, n] = frac(base + shift_g). shifts: [groups, 2] from the RNG. */
function rotatedPoints(n: number, shifts: Float32Array): [tf.Tensor2D, tf.Tensor2D] {
  const groups = shifts.length / 2;
  const base = tf.tensor3d(r2Points(n), [1, n, 2]);
  const moved = tf.add(base, tf.tensor3d(shifts, [groups, 1, 2]));
  const wrapped = tf.sub(moved, tf.floor(moved));
  const [x, y] = tf.split(wrapped, 2, 2);
  return [tf.reshape(x, [groups, n]) as tf.Tensor2D, tf.reshape(y, [groups, n]) as tf.Tensor2D];
}

export function randomShifts(rng: Rng, groups: number): Float32Array {
  const s = new Float32Array(groups * 2);
  for (let i = 0; i < s.length; i++) s[i] = rng.next();
  return s;
}

/** One-hot of each image's target classes, [B, C+1, maxTargets] (padding columns all zero). */
function targetClassOneHot(targets: TargetBatch, numClasses: number): tf.Tensor3D {
  const b = targets.classes.length;
  const t = targets.maxTargets;
  const v = new Float32Array(b * (numClasses + 1) * t);
  targets.classes.forEach((cls, i) => cls.forEach((c, j) => (v[(i * (numClasses + 1) + c) * t + j] = 1)));
  return tf.tensor3d(v, [b, numClasses + 1, t]);
}

/**
 * Matching cost for every layer and image: [B, L+1, Q, maxTargets] = classWeight·(−p[class]) +
 * maskWeight·BCE + diceWeight·dice on trainPoints uniform points per (layer, image).
 * shifts: [(L+1)·B, 2]. No gradient (call outside the tape).
 */
export function matchingCosts(
  preds: DecoderPrediction[],
  targets: TargetBatch,
  cfg: CriterionConfig,
  shifts: Float32Array,
): tf.Tensor4D {
  return tf.tidy(() => {
    const layers = preds.length;
    const [b, q, h, w] = preds[0].maskLogits.shape;
    const t = targets.maxTargets;
    const p = cfg.trainPoints;
    const [px, py] = rotatedPoints(p, shifts); // [(L+1)·B, P]
    const x = tf.reshape(px, [layers, b, 1, p]);
    const y = tf.reshape(py, [layers, b, 1, p]);
    const predPlanes = tf.reshape(
      tf.concat(
        preds.map((d) => detach(d.maskLogits)),
        0,
      ),
      [layers * b * q, h, w],
    ) as tf.Tensor3D;
    const predPlane = tf.reshape(tf.range(0, layers * b * q, 1, 'int32'), [layers, b, q, 1]);
    const logits = tf.reshape(samplePlanes(predPlanes, x, y, predPlane), [layers * b, q, p]);
    const gtPlane = tf.reshape(tf.range(0, b * t, 1, 'int32'), [1, b, t, 1]);
    const gt = tf.reshape(samplePlanes(targets.masks, x, y, gtPlane), [layers * b, t, p]);
    const bce = tf.div(tf.sub(tf.sum(tf.softplus(logits), -1, true), tf.matMul(logits, gt, false, true)), p);
    const prob = tf.sigmoid(logits);
    const dice = tf.sub(
      1,
      tf.div(
        tf.add(tf.mul(tf.matMul(prob, gt, false, true), 2), 1),
        tf.add(tf.add(tf.sum(prob, -1, true), tf.reshape(tf.sum(gt, -1), [layers * b, 1, t])), 1),
      ),
    );
    let cost = tf.add(tf.mul(bce, cfg.maskWeight), tf.mul(dice, cfg.diceWeight)); // [(L+1)·B, Q, T]
    cost = tf.transpose(tf.reshape(cost, [layers, b, q, t]), [1, 0, 2, 3]);
    if (cfg.classWeight !== 0) {
      const probs = tf.softmax(
        tf.stack(
          preds.map((d) => detach(d.classLogits)),
          1,
        ),
      ); // [B, L+1, Q, C+1]
      const gathered = tf.matMul(
        tf.reshape(probs, [b, layers * q, cfg.numClasses + 1]),
        targetClassOneHot(targets, cfg.numClasses),
      );
      cost = tf.sub(cost, tf.mul(tf.reshape(gathered, [b, layers, q, t]), cfg.classWeight));
    }
    return cost as tf.Tensor4D;
  });
}

export interface LossParts {
  total: tf.Scalar;
  classLoss: tf.Scalar;
  maskLoss: tf.Scalar;
  diceLoss: tf.Scalar;
}

/**
 * Σ over layers of classWeight·CE + maskWeight·BCE + diceWeight·dice (each normalised as
 * upstream: CE a weighted mean over queries, mask losses summed over matches / num targets).
 * matches: [layer][image]. rng draws the point-set shifts (2 numbers per matched mask and kind).
 */
export function setCriterionLoss(
  preds: DecoderPrediction[],
  targets: TargetBatch,
  matches: LayerMatches[][],
  cfg: CriterionConfig,
  rng: Rng,
): LossParts {
  return tf.tidy(() => {
    const layers = preds.length;
    const [b, q, h, w] = preds[0].maskLogits.shape;
    const numTargets = targets.classes.reduce((a, c) => a + c.length, 0);
    const numMasks = Math.max(1, numTargets);
    const predRows: number[] = [];
    const gtRows: number[] = [];
    const classTarget = new Int32Array(layers * b * q).fill(cfg.numClasses);
    matches.forEach((perImage, l) =>
      perImage.forEach((m, i) =>
        m.queries.forEach((qi, k) => {
          const t = m.targets[k];
          predRows.push((l * b + i) * q + qi);
          gtRows.push(i * targets.maxTargets + t);
          classTarget[(l * b + i) * q + qi] = targets.classes[i][t];
        }),
      ),
    );
    const zero = tf.scalar(0);
    let classLoss: tf.Scalar = zero;
    if (cfg.classWeight !== 0) {
      const logits = tf.reshape(
        tf.concat(
          preds.map((d) => d.classLogits),
          0,
        ),
        [layers * b * q, cfg.numClasses + 1],
      );
      const labels = tf.tensor1d(classTarget, 'int32');
      const weights = tf.where(
        tf.equal(labels, cfg.numClasses),
        tf.fill([layers * b * q], cfg.noObjectWeight),
        tf.onesLike(labels).toFloat(),
      );
      const ce = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(labels, cfg.numClasses + 1)), -1));
      // Per-layer weighted means summed over layers; every layer has the same weight total.
      classLoss = tf.mul(tf.div(tf.sum(tf.mul(ce, weights)), tf.sum(weights)), layers) as tf.Scalar;
    }
    let maskLoss: tf.Scalar = zero;
    let diceLoss: tf.Scalar = zero;
    const m = predRows.length;
    if (m > 0) {
      const table = tf.reshape(
        tf.concat(
          preds.map((d) => d.maskLogits),
          0,
        ),
        [layers * b * q, h, w],
      );
      const predMasks = tf.gather(table, tf.tensor1d(predRows, 'int32')) as tf.Tensor3D;
      const gtMasks = tf.gather(targets.masks, tf.tensor1d(gtRows, 'int32')) as tf.Tensor3D;
      const [px, py] = importancePoints(predMasks, cfg, rng);
      const logits = samplePlanes(predMasks, px, py);
      const labels = samplePlanes(gtMasks, px, py);
      const bce = tf.mean(tf.sub(tf.softplus(logits), tf.mul(logits, labels)), -1);
      maskLoss = tf.div(tf.sum(bce), numMasks) as tf.Scalar;
      const prob = tf.sigmoid(logits);
      const dice = tf.sub(
        1,
        tf.div(
          tf.add(tf.mul(tf.sum(tf.mul(prob, labels), -1), 2), 1),
          tf.add(tf.add(tf.sum(prob, -1), tf.sum(labels, -1)), 1),
        ),
      );
      diceLoss = tf.div(tf.sum(dice), numMasks) as tf.Scalar;
    }
    const total = tf.addN([
      tf.mul(classLoss, cfg.classWeight),
      tf.mul(maskLoss, cfg.maskWeight),
      tf.mul(diceLoss, cfg.diceWeight),
    ]) as tf.Scalar;
    return { total, classLoss, maskLoss, diceLoss };
  });
}

/** PointRend training points per mask [M, P]: the most uncertain of ×oversample candidates + fresh uniform ones. */
function importancePoints(predMasks: tf.Tensor3D, cfg: CriterionConfig, rng: Rng): [tf.Tensor2D, tf.Tensor2D] {
  const m = predMasks.shape[0];
  const p = cfg.trainPoints;
  const candidates = Math.round(p * cfg.oversampleRatio);
  const important = Math.round(p * cfg.importanceRatio);
  const [cx, cy] = rotatedPoints(candidates, randomShifts(rng, m));
  const uncertainty = tf.neg(tf.abs(samplePlanes(detach(predMasks), cx, cy)));
  const { indices } = tf.topk(uncertainty, important);
  const flat = tf.reshape(tf.add(indices, tf.reshape(tf.range(0, m * candidates, candidates, 'int32'), [m, 1])), [-1]);
  const pick = (c: tf.Tensor2D) => tf.reshape(tf.gather(tf.reshape(c, [-1]), flat), [m, important]);
  if (important === p) return [pick(cx) as tf.Tensor2D, pick(cy) as tf.Tensor2D];
  const [rx, ry] = rotatedPoints(p - important, randomShifts(rng, m));
  return [tf.concat([pick(cx), rx], 1) as tf.Tensor2D, tf.concat([pick(cy), ry], 1) as tf.Tensor2D];
}

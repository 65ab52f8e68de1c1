/**
 * The student's strong view of an unlabeled image (fidelity-review §9.1, upstream mapper `:151-174`):
 * a copy of the weak crop (same geometry) with, on the unpadded region only,
 *   - torchvision ColorJitter(brightness 0.8, contrast 0.8, saturation 0.8, hue 0.2), always applied:
 *     factors U[0.2, 1.8], hue shift U[−0.2, 0.2] of the colour circle, the four ops in random order;
 *   - RandomGrayscale p 0.2 (ITU-R 601 luma 0.299/0.587/0.114, three channels);
 *   - Gaussian blur p 0.5 with σ ~ U(0.1, 2.0).
 * The padding keeps its 128. Deviations (harmless): float math without uint8 rounding between ops
 * (upstream runs PIL on uint8); the blur is a separable Gaussian of radius ⌈3σ⌉ with replicated
 * edges, a stand-in for PIL's box-filter approximation.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng';
import { applySeparable, regionMask, type ValidRegion } from './augment';

export interface StrongAugmentOptions {
  brightness: number;
  contrast: number;
  saturation: number;
  /** Max hue shift as a fraction of the colour circle. */
  hue: number;
  grayscaleProbability: number;
  blurProbability: number;
  blurSigma: [number, number];
}

/** Upstream's UNLABELED_INPUT.STUDENT_JITTER. */
export const UPSTREAM_STRONG_AUGMENT: StrongAugmentOptions = {
  brightness: 0.8,
  contrast: 0.8,
  saturation: 0.8,
  hue: 0.2,
  grayscaleProbability: 0.2,
  blurProbability: 0.5,
  blurSigma: [0.1, 2.0],
};

type JitterOp = 'brightness' | 'contrast' | 'saturation' | 'hue';

export interface StrongDraw {
  order: JitterOp[];
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  grayscale: boolean;
  blurSigma: number | null;
}

export function drawStrongAugmentation(rng: Rng, o: StrongAugmentOptions = UPSTREAM_STRONG_AUGMENT): StrongDraw {
  const order = rng.shuffle<JitterOp>(['brightness', 'contrast', 'saturation', 'hue']);
  const brightness = rng.uniform(1 - o.brightness, 1 + o.brightness);
  const contrast = rng.uniform(1 - o.contrast, 1 + o.contrast);
  const saturation = rng.uniform(1 - o.saturation, 1 + o.saturation);
  const hue = rng.uniform(-o.hue, o.hue);
  const grayscale = rng.next() < o.grayscaleProbability;
  const blurSigma = rng.next() < o.blurProbability ? rng.uniform(o.blurSigma[0], o.blurSigma[1]) : null;
  return { order, brightness, contrast, saturation, hue, grayscale, blurSigma };
}

const LUMA = [0.299, 0.587, 0.114];
const clip255 = (t: tf.Tensor) => tf.clipByValue(t, 0, 255);

/** [..., 3] → [..., 1] luma. */
function luma(x: tf.Tensor): tf.Tensor {
  return tf.sum(tf.mul(x, tf.tensor1d(LUMA)), -1, true);
}

/** torchvision's blend: f·x + (1 − f)·other, clamped to the value range. */
function blend(x: tf.Tensor, other: tf.Tensor | number, f: number): tf.Tensor {
  return clip255(tf.add(tf.mul(x, f), tf.mul(other, 1 - f)));
}

export function adjustBrightness(x: tf.Tensor3D, f: number): tf.Tensor3D {
  return tf.tidy(() => clip255(tf.mul(x, f)) as tf.Tensor3D);
}

/** Blend with the mean luma of the whole (unpadded) image. */
export function adjustContrast(x: tf.Tensor3D, f: number): tf.Tensor3D {
  return tf.tidy(() => blend(x, tf.mean(luma(x)), f) as tf.Tensor3D);
}

/** Blend with the per-pixel luma. */
export function adjustSaturation(x: tf.Tensor3D, f: number): tf.Tensor3D {
  return tf.tidy(() => blend(x, luma(x), f) as tf.Tensor3D);
}

const select = (cond: tf.Tensor, a: tf.Tensor, b: tf.Tensor | number) =>
  tf.where(cond, a, typeof b === 'number' ? tf.fill(a.shape, b) : b);

/** Rotates hue by `shift` of the colour circle in HSV (torchvision's _rgb2hsv / _hsv2rgb). */
export function adjustHue(x: tf.Tensor3D, shift: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [r, g, b] = tf.split(tf.div(x, 255), 3, -1);
    const maxc = tf.maximum(tf.maximum(r, g), b);
    const minc = tf.minimum(tf.minimum(r, g), b);
    const grey = tf.equal(maxc, minc);
    const cr = tf.sub(maxc, minc);
    const s = tf.div(cr, select(grey, tf.onesLike(maxc), maxc));
    const crDiv = select(grey, tf.onesLike(cr), cr);
    const rc = tf.div(tf.sub(maxc, r), crDiv);
    const gc = tf.div(tf.sub(maxc, g), crDiv);
    const bc = tf.div(tf.sub(maxc, b), crDiv);
    const isR = tf.equal(maxc, r);
    const isG = tf.logicalAnd(tf.equal(maxc, g), tf.logicalNot(isR));
    const isB = tf.logicalAnd(tf.logicalNot(tf.equal(maxc, g)), tf.logicalNot(isR));
    const hRaw = tf.addN([
      select(isR, tf.sub(bc, gc), 0),
      select(isG, tf.add(tf.sub(rc, bc), 2), 0),
      select(isB, tf.add(tf.sub(gc, rc), 4), 0),
    ]);
    const h0 = tf.add(tf.div(hRaw, 6), 1 + shift);
    const h = tf.sub(h0, tf.floor(h0));
    const v = maxc;
    const h6 = tf.mul(h, 6);
    const sector = tf.floor(h6);
    const f = tf.sub(h6, sector);
    const i = tf.sub(sector, tf.mul(tf.floor(tf.div(sector, 6)), 6));
    const unit = (t: tf.Tensor) => tf.clipByValue(t, 0, 1);
    const p = unit(tf.mul(v, tf.sub(1, s)));
    const q = unit(tf.mul(v, tf.sub(1, tf.mul(s, f))));
    const t = unit(tf.mul(v, tf.sub(1, tf.mul(s, tf.sub(1, f)))));
    const pick = (choices: tf.Tensor[]) => tf.addN(choices.map((c, k) => select(tf.equal(i, k), c, 0)));
    const rgb = tf.concat([pick([v, q, p, p, t, v]), pick([t, v, v, q, p, p]), pick([p, p, t, v, v, q])], -1);
    return clip255(tf.mul(rgb, 255)) as tf.Tensor3D;
  });
}

export function grayscale(x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => tf.tile(luma(x), [1, 1, 3]) as tf.Tensor3D);
}

/** [n, n] Gaussian smoothing matrix with replicated edges. */
function gaussianMatrix(n: number, sigma: number): tf.Tensor2D {
  const radius = Math.ceil(3 * sigma);
  const w = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const total = w.reduce((a, v) => a + v, 0);
  const m = new Float32Array(n * n);
  for (let o = 0; o < n; o++) {
    for (let k = -radius; k <= radius; k++) m[o * n + Math.min(n - 1, Math.max(0, o + k))] += w[k + radius] / total;
  }
  return tf.tensor2d(m, [n, n]);
}

export function gaussianBlur(x: tf.Tensor3D, sigma: number): tf.Tensor3D {
  return tf.tidy(() => applySeparable(x, gaussianMatrix(x.shape[0], sigma), gaussianMatrix(x.shape[1], sigma)));
}

/** The strong photometric ops on one unpadded image [h, w, 3] (0–255). */
function strongPhotometric(x: tf.Tensor3D, d: StrongDraw): tf.Tensor3D {
  return tf.tidy(() => {
    let y = x;
    for (const op of d.order) {
      if (op === 'brightness') y = adjustBrightness(y, d.brightness);
      else if (op === 'contrast') y = adjustContrast(y, d.contrast);
      else if (op === 'saturation') y = adjustSaturation(y, d.saturation);
      else y = adjustHue(y, d.hue);
    }
    if (d.grayscale) y = grayscale(y);
    if (d.blurSigma !== null) y = gaussianBlur(y, d.blurSigma);
    return y;
  });
}

/** Weak crop [crop, crop, 3] → strong crop: the ops on the unpadded region, the padding as it was. */
export function strongAugmentImage(weak: tf.Tensor3D, region: ValidRegion, d: StrongDraw): tf.Tensor3D {
  const crop = weak.shape[0];
  if (region.width === 0 || region.height === 0) return tf.clone(weak);
  return tf.tidy(() => {
    const inside = tf.slice(weak, [0, region.x0, 0], [region.height, region.width, 3]);
    const strong = tf.pad(strongPhotometric(inside, d), [
      [0, crop - region.height],
      [region.x0, crop - region.x0 - region.width],
      [0, 0],
    ]);
    return tf.add(tf.mul(weak, tf.sub(1, regionMask(region, crop))), strong) as tf.Tensor3D;
  });
}

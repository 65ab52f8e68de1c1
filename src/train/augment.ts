/**
 * Training augmentation on the GPU (method-spec §3.2/§4): random shortest-edge resize, random
 * crop, horizontal flip, SSD-style colour jitter (labeled images only), padding to the crop size
 * (image 128, masks 0). The geometry is drawn once on the CPU and applied to the image and its
 * target masks alike as two interpolation matrices restricted to the crop rows/columns (flip =
 * reversed columns): y = R_h · X · R_wᵀ, bilinear for images, nearest for masks.
 * Deviations: no antialiasing when downscaling (PIL's bilinear resize has it); saturation and hue
 * jitter act in YIQ space instead of OpenCV's uint8 HSV.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng';
import { interpolationMatrixValues } from '../models/ops/resize';

export interface AugmentOptions {
  cropSize: number;
  /** Shortest-edge choices (ADE: 320…1280 step 64 for a 640 crop). */
  shortEdges: number[];
  maxLongEdge: number;
  flip: boolean;
  colour: boolean;
}

/** The paper's schedule scaled to a crop: short edge ∈ {0.5…2.0}·crop in crop/10 steps, long edge ≤ 4·crop. */
export function defaultAugmentOptions(cropSize: number, colour: boolean): AugmentOptions {
  const shortEdges = Array.from({ length: 16 }, (_, i) => Math.round(((i + 5) * cropSize) / 10));
  return { cropSize, shortEdges, maxLongEdge: 4 * cropSize, flip: true, colour };
}

interface ColourJitter {
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  /** Degrees (OpenCV's ±18 on its 0–180 hue scale = ±36°). */
  hue: number | null;
  contrastFirst: boolean;
}

export interface AugmentDraw {
  /** Size after the resize. */
  height: number;
  width: number;
  cropY: number;
  cropX: number;
  flip: boolean;
  colour: ColourJitter | null;
}

export function drawAugmentation(rng: Rng, height: number, width: number, o: AugmentOptions): AugmentDraw {
  const short = rng.pick(o.shortEdges);
  let scale = short / Math.min(height, width);
  if (Math.max(height, width) * scale > o.maxLongEdge) scale = o.maxLongEdge / Math.max(height, width);
  const h = Math.round(height * scale);
  const w = Math.round(width * scale);
  const cropY = rng.int(0, Math.max(0, h - o.cropSize));
  const cropX = rng.int(0, Math.max(0, w - o.cropSize));
  const flip = o.flip && rng.next() < 0.5;
  const colour: ColourJitter | null = o.colour
    ? {
        brightness: rng.next() < 0.5 ? rng.uniform(-32, 32) : null,
        contrast: rng.next() < 0.5 ? rng.uniform(0.5, 1.5) : null,
        saturation: rng.next() < 0.5 ? rng.uniform(0.5, 1.5) : null,
        hue: rng.next() < 0.5 ? rng.int(-18, 18) * 2 : null,
        contrastFirst: rng.next() < 0.5,
      }
    : null;
  return { height: h, width: w, cropY, cropX, flip, colour };
}

/** Rows [start, start+crop) of the resize matrix (rows past the resized size are zero = padding). */
function cropMatrix(
  outSize: number,
  inSize: number,
  start: number,
  crop: number,
  reverse: boolean,
  nearest: boolean,
): Float32Array {
  const full = nearest ? nearestMatrixValues(outSize, inSize) : interpolationMatrixValues(outSize, inSize);
  const m = new Float32Array(crop * inSize);
  for (let r = 0; r < crop; r++) {
    const src = start + r;
    if (src >= outSize) continue;
    const dst = reverse ? crop - 1 - r : r;
    m.set(full.subarray(src * inSize, (src + 1) * inSize), dst * inSize);
  }
  return m;
}

/** PyTorch/detectron2 nearest: source index floor(o · in / out). */
function nearestMatrixValues(outSize: number, inSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) m[o * inSize + Math.min(Math.floor((o * inSize) / outSize), inSize - 1)] = 1;
  return m;
}

/** The unpadded rectangle of a crop: rows [0, height), columns [x0, x0 + width) (a flip moves the padding to the left). */
export interface ValidRegion {
  x0: number;
  width: number;
  height: number;
}

export function validRegion(d: AugmentDraw, crop: number): ValidRegion {
  const height = Math.max(0, Math.min(crop, d.height - d.cropY));
  const width = Math.max(0, Math.min(crop, d.width - d.cropX));
  return { x0: d.flip ? crop - width : 0, width, height };
}

/** 1 inside the region, 0 on the padding: [crop, crop, 1]. */
export function regionMask(r: ValidRegion, crop: number): tf.Tensor3D {
  const v = new Float32Array(crop * crop);
  for (let y = 0; y < r.height; y++) v.fill(1, y * crop + r.x0, y * crop + r.x0 + r.width);
  return tf.tensor3d(v, [crop, crop, 1]);
}

/** image [H, W, 3] → [outH, outW, 3] = R_h · X · R_wᵀ per channel (rh [outH, H], rw [outW, W]). */
export function applySeparable(image: tf.Tensor3D, rh: tf.Tensor2D, rw: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w] = image.shape;
    const outH = rh.shape[0];
    const outW = rw.shape[0];
    const alongH = tf.reshape(tf.matMul(rh, tf.reshape(image, [h, w * 3])), [outH, w, 3]);
    return tf.transpose(
      tf.reshape(tf.matMul(rw, tf.reshape(tf.transpose(alongH, [1, 0, 2]), [w, outH * 3])), [outW, outH, 3]),
      [1, 0, 2],
    ) as tf.Tensor3D;
  });
}

/** image [H, W, 3] RGB 0–255 → [crop, crop, 3]. */
export function augmentImage(image: tf.Tensor3D, d: AugmentDraw, crop: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w] = image.shape;
    const rh = tf.tensor2d(cropMatrix(d.height, h, d.cropY, crop, false, false), [crop, h]);
    const rw = tf.tensor2d(cropMatrix(d.width, w, d.cropX, crop, d.flip, false), [crop, w]);
    const resized = applySeparable(image, rh, rw);
    const coloured = d.colour ? colourJitter(resized, d.colour) : resized;
    const valid = regionMask(validRegion(d, crop), crop);
    return tf.add(tf.mul(coloured, valid), tf.mul(tf.sub(1, valid), 128)) as tf.Tensor3D;
  });
}

/** masks [T, H, W] (0/1) → [T, crop, crop] with nearest sampling; padding is 0. */
export function augmentMasks(masks: tf.Tensor3D, d: AugmentDraw, crop: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [t, h, w] = masks.shape;
    const rh = tf.tensor2d(cropMatrix(d.height, h, d.cropY, crop, false, true), [crop, h]);
    const rw = tf.tensor2d(cropMatrix(d.width, w, d.cropX, crop, d.flip, true), [crop, w]);
    const alongW = tf.matMul(tf.reshape(masks, [t * h, w]), rw, false, true); // [T·H, crop]
    const byRows = tf.reshape(tf.transpose(tf.reshape(alongW, [t, h, crop]), [1, 0, 2]), [h, t * crop]);
    return tf.transpose(tf.reshape(tf.matMul(rh, byRows), [crop, t, crop]), [1, 0, 2]) as tf.Tensor3D;
  });
}

/** RGB → YIQ (rows) and back. */
const RGB_TO_YIQ = [0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312];

function colourJitter(img: tf.Tensor3D, c: ColourJitter): tf.Tensor3D {
  const clip = (t: tf.Tensor) => tf.clipByValue(t, 0, 255);
  let x: tf.Tensor = img;
  if (c.brightness !== null) x = clip(tf.add(x, c.brightness));
  const contrast = (t: tf.Tensor) => (c.contrast === null ? t : clip(tf.mul(t, c.contrast)));
  const saturationHue = (t: tf.Tensor) => {
    if (c.saturation === null && c.hue === null) return t;
    const toYiq = tf.tensor2d(RGB_TO_YIQ, [3, 3]);
    const yiq = tf.matMul(tf.reshape(t, [-1, 3]), toYiq, false, true);
    const s = c.saturation ?? 1;
    const a = ((c.hue ?? 0) * Math.PI) / 180;
    // Scale chroma (I, Q) by the saturation factor and rotate it by the hue angle.
    const chroma = tf.tensor2d(
      [1, 0, 0, 0, s * Math.cos(a), -s * Math.sin(a), 0, s * Math.sin(a), s * Math.cos(a)],
      [3, 3],
    );
    const back = tf.matMul(tf.matMul(yiq, chroma, false, true), tf.tensor2d(yiqToRgb(), [3, 3]), false, true);
    return clip(tf.reshape(back, t.shape));
  };
  x = c.contrastFirst ? saturationHue(contrast(x)) : contrast(saturationHue(x));
  return x as tf.Tensor3D;
}

function yiqToRgb(): number[] {
  const [a, b, c, d, e, f, g, h, i] = RGB_TO_YIQ;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    (e * i - f * h) / det,
    (c * h - b * i) / det,
    (b * f - c * e) / det,
    (f * g - d * i) / det,
    (a * i - c * g) / det,
    (c * d - a * f) / det,
    (d * h - e * g) / det,
    (b * g - a * h) / det,
    (a * e - b * d) / det,
  ];
}

/**
 * SAM input preparation as segment-anything does it: ResizeLongestSide (longest side → img_size,
 * int(dim·scale + 0.5), PIL bilinear with antialiasing), normalisation with the 0..255 mean/std,
 * zero padding bottom/right after normalisation, and prompt coordinates scaled to the resized frame.
 */
import * as tf from '@tensorflow/tfjs';
import type { SamConfig } from './config';

/** `ResizeLongestSide.get_preprocess_shape`: [newH, newW]. */
export function resizedShape(height: number, width: number, longestSide: number): [number, number] {
  const scale = longestSide / Math.max(height, width);
  return [Math.floor(height * scale + 0.5), Math.floor(width * scale + 0.5)];
}

/** Pillow's fixed-point precision for 8-bit resampling (Resample.c: 32 − 8 − 2). */
const PRECISION_BITS = 22;

interface ResampleCoefficients {
  /** First source index of each output sample. */
  start: Int32Array;
  /** Number of taps of each output sample. */
  taps: Int32Array;
  /** Fixed-point weights, `maxTaps` per output sample. */
  weights: Int32Array;
  maxTaps: number;
}

/** Pillow `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear (triangle) filter, support 1 scaled by the downscale factor. */
function bilinearCoefficients(inSize: number, outSize: number): ResampleCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const inverseFilterScale = 1 / filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const taps = new Int32Array(outSize);
  const weights = new Int32Array(outSize * maxTaps);
  const w = new Float64Array(maxTaps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * inverseFilterScale);
      w[x] = t < 1 ? 1 - t : 0;
      total += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const normalised = total !== 0 ? w[x] / total : w[x];
      const fixed = normalised * (1 << PRECISION_BITS);
      weights[o * maxTaps + x] = fixed < 0 ? Math.trunc(-0.5 + fixed) : Math.trunc(0.5 + fixed);
    }
    start[o] = xmin;
    taps[o] = xmax;
  }
  return { start, taps, weights, maxTaps };
}

function clip8(acc: number): number {
  const v = Math.floor(acc / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Pillow's `Image.resize(..., BILINEAR)` on an RGB image (what torchvision's resize does to a PIL
 * image): horizontal pass then vertical pass, both in 8-bit fixed point. `channels` 3 (RGB) or 4
 * (RGBA, alpha dropped). Returns packed RGB.
 */
export function resizeRgbBilinear(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: 3 | 4,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const half = 1 << (PRECISION_BITS - 1);
  let rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = src[i * channels];
    rgb[i * 3 + 1] = src[i * channels + 1];
    rgb[i * 3 + 2] = src[i * channels + 2];
  }
  let w = width;
  if (outWidth !== width) {
    const k = bilinearCoefficients(width, outWidth);
    const out = new Uint8Array(outWidth * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < outWidth; x++) {
        for (let c = 0; c < 3; c++) {
          let acc = half;
          for (let t = 0; t < k.taps[x]; t++)
            acc += rgb[(y * width + k.start[x] + t) * 3 + c] * k.weights[x * k.maxTaps + t];
          out[(y * outWidth + x) * 3 + c] = clip8(acc);
        }
      }
    }
    rgb = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const k = bilinearCoefficients(height, outHeight);
    const out = new Uint8Array(w * outHeight * 3);
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          let acc = half;
          for (let t = 0; t < k.taps[y]; t++)
            acc += rgb[((k.start[y] + t) * w + x) * 3 + c] * k.weights[y * k.maxTaps + t];
          out[(y * w + x) * 3 + c] = clip8(acc);
        }
      }
    }
    rgb = out;
  }
  return rgb;
}

/** `(x − mean) / std` on 0..255 values, then zero pad bottom/right to img_size²: [1, S, S, 3]. */
export function normalizeAndPad(resizedRgb: Uint8Array, width: number, height: number, config: SamConfig): tf.Tensor4D {
  const size = config.imageEncoder.imgSize;
  return tf.tidy(() => {
    const x = tf.tensor3d(resizedRgb, [height, width, 3], 'int32').toFloat();
    const normalised = tf.div(tf.sub(x, tf.tensor1d(config.pixelMean)), tf.tensor1d(config.pixelStd));
    return tf
      .pad(normalised, [
        [0, size - height],
        [0, size - width],
        [0, 0],
      ])
      .expandDims(0) as tf.Tensor4D;
  });
}

/** `ResizeLongestSide.apply_coords`: (x, y) pairs in original pixels → model frame. */
export function applyCoords(
  coords: ArrayLike<number>,
  originalHeight: number,
  originalWidth: number,
  longestSide: number,
): Float32Array {
  const [newH, newW] = resizedShape(originalHeight, originalWidth, longestSide);
  const out = new Float32Array(coords.length);
  for (let i = 0; i < coords.length; i += 2) {
    out[i] = coords[i] * (newW / originalWidth);
    out[i + 1] = coords[i + 1] * (newH / originalHeight);
  }
  return out;
}

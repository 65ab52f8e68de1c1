/**
 * Test-time geometry as upstream evaluates (method-spec §7; fidelity review §5): detectron2's
 * ResizeShortestEdge to the test size with the long side capped, padding to a multiple of 32
 * (Mask2Former's size divisibility, bottom and right), and the prediction cropped back to the
 * resized image and resized to the original size (Mask2Former's sem_seg_postprocess).
 * Bilinear without antialias, as in training augmentation (src/train/augment.ts); upstream's PIL
 * resize antialiases when it downscales (harmless for images near the test size).
 */
import * as tf from '@tensorflow/tfjs';
import { CLIP_IMAGE_MEAN } from '../models/clip/clip';
import { applyPlaneMatrices, interpolationTaps, resizeNHWC } from '../models/ops/resize';

export interface TestResizeOptions {
  /** Shortest edge after the resize (ADE 640, COCO 512: the training crop). */
  shortEdge: number;
  /** Long side cap (ADE 2560, COCO 2048: 4× the test size). */
  maxLongEdge: number;
  /** The padded input is a multiple of this on both sides. */
  sizeDivisibility: number;
}

/** Upstream's test sizes scale with the crop (640 → 640/2560, 512 → 512/2048); the lab's presets follow. */
export function testResizeOptions(cropSize: number): TestResizeOptions {
  return { shortEdge: cropSize, maxLongEdge: 4 * cropSize, sizeDivisibility: 32 };
}

export interface TestResizePlan {
  height: number;
  width: number;
  /** Size after the resize: the valid region of the padded input. */
  resizedHeight: number;
  resizedWidth: number;
  paddedHeight: number;
  paddedWidth: number;
}

/** detectron2 ResizeShortestEdge.get_output_shape (rounding int(x + 0.5)), then the padded size. */
export function planTestResize(height: number, width: number, o: TestResizeOptions): TestResizePlan {
  if (!(height > 0 && width > 0)) throw new RangeError(`test resize: image ${height}x${width} is empty`);
  const scale = o.shortEdge / Math.min(height, width);
  let h = height < width ? o.shortEdge : scale * height;
  let w = height < width ? scale * width : o.shortEdge;
  if (Math.max(h, w) > o.maxLongEdge) {
    const cap = o.maxLongEdge / Math.max(h, w);
    h *= cap;
    w *= cap;
  }
  const resizedHeight = Math.floor(h + 0.5);
  const resizedWidth = Math.floor(w + 0.5);
  const pad = (n: number) => Math.ceil(n / o.sizeDivisibility) * o.sizeDivisibility;
  return {
    height,
    width,
    resizedHeight,
    resizedWidth,
    paddedHeight: pad(resizedHeight),
    paddedWidth: pad(resizedWidth),
  };
}

/**
 * Image [H, W, 3] RGB 0–255 → [1, paddedH, paddedW, 3]. Upstream pads with 0 after normalisation,
 * so the padding here is the CLIP pixel mean: it normalises to 0.
 */
export function testResizeImage(image: tf.Tensor3D, plan: TestResizePlan): tf.Tensor4D {
  return tf.tidy(() => {
    const resized = resizeNHWC(tf.expandDims(image, 0) as tf.Tensor4D, plan.resizedHeight, plan.resizedWidth);
    const bottom = plan.paddedHeight - plan.resizedHeight;
    const right = plan.paddedWidth - plan.resizedWidth;
    if (bottom === 0 && right === 0) return resized;
    const channels = CLIP_IMAGE_MEAN.map((m, c) =>
      tf.pad(
        tf.slice(resized, [0, 0, 0, c], [-1, -1, -1, 1]),
        [
          [0, 0],
          [0, bottom],
          [0, right],
          [0, 0],
        ],
        m * 255,
      ),
    );
    return tf.concat(channels, 3) as tf.Tensor4D;
  });
}

/**
 * Mask logits [..., h, w] at the decoder's output stride → [..., H, W] of the original image:
 * upsampled to the padded input, cropped to the resized image, resized to the original size.
 * All three are linear, so each axis is one composed matrix (R_down · R_up[:resized]): the same
 * numbers without ever materialising the padded-size logits.
 */
export function maskLogitsToImage(maskLogits: tf.Tensor, plan: TestResizePlan): tf.Tensor {
  const [h, w] = maskLogits.shape.slice(-2);
  return tf.tidy(() => {
    const rows = tf.tensor2d(cropBackMatrix(plan.height, plan.resizedHeight, plan.paddedHeight, h), [plan.height, h]);
    const columns = tf.tensor2d(cropBackMatrix(plan.width, plan.resizedWidth, plan.paddedWidth, w), [plan.width, w]);
    return applyPlaneMatrices(maskLogits, rows, columns);
  });
}

/** [out, grid]: bilinear grid → padded, keep the first `resized` samples, bilinear resized → out (≤ 4 taps a row). */
function cropBackMatrix(out: number, resized: number, padded: number, grid: number): Float32Array {
  const up = interpolationTaps(padded, grid);
  const down = interpolationTaps(out, resized);
  const m = new Float32Array(out * grid);
  for (let o = 0; o < out; o++) {
    for (const [r, a] of [
      [down.first[o], 1 - down.frac[o]],
      [down.second[o], down.frac[o]],
    ]) {
      m[o * grid + up.first[r]] += a * (1 - up.frac[r]);
      m[o * grid + up.second[r]] += a * up.frac[r];
    }
  }
  return m;
}

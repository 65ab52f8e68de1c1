/**
 * segment-anything `Sam.postprocess_masks`: low-res logits → bilinear (align_corners=False, no
 * antialias) to img_size² → crop to the resized image → bilinear to the original size.
 * tfjs resizeBilinear with halfPixelCenters is PyTorch's align_corners=False sampling.
 */
import * as tf from '@tensorflow/tfjs';

/** [B, M, h, w] logits → [B, M, H, W] logits at the original image size. */
export function postprocessMasks(
  lowResLogits: tf.Tensor4D,
  resizedHeightWidth: [number, number],
  originalHeightWidth: [number, number],
  imgSize: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const channelsLast = tf.transpose(lowResLogits, [0, 2, 3, 1]) as tf.Tensor4D;
    const padded = tf.image.resizeBilinear(channelsLast, [imgSize, imgSize], false, true);
    const [b, , , m] = padded.shape;
    const cropped = padded.slice([0, 0, 0, 0], [b, resizedHeightWidth[0], resizedHeightWidth[1], m]);
    const original = tf.image.resizeBilinear(cropped, originalHeightWidth, false, true);
    return tf.transpose(original, [0, 3, 1, 2]) as tf.Tensor4D;
  });
}

/** Layers the decoder adds to nn.ts: GroupNorm and convolutions on NHWC maps. */
import * as tf from '@tensorflow/tfjs';

/** torch.nn.GroupNorm (eps 1e-5, biased variance) on NHWC: statistics per sample over H, W and the group's channels. */
export function groupNorm(x: tf.Tensor4D, groups: number, weight: tf.Tensor, bias: tf.Tensor, eps = 1e-5): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const g = tf.reshape(x, [b, h * w, groups, c / groups]);
    const mean = tf.mean(g, [1, 3], true);
    const centered = tf.sub(g, mean);
    const variance = tf.mean(tf.square(centered), [1, 3], true);
    const normed = tf.reshape(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), [b, h, w, c]);
    return tf.add(tf.mul(normed, weight), bias) as tf.Tensor4D;
  });
}

/**
 * 3x3 convolution, stride 1, padding 1 (same), weight [3, 3, in, out], no bias. On the cpu backend
 * it runs as im2col + matMul: tfjs-cpu's Conv2DBackpropFilter is an element-by-element loop that
 * dominated CPU training steps.
 */
export function conv3x3(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  if (tf.getBackend() !== 'cpu') return tf.conv2d(x, weight, 1, 'same');
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const padded = tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    const taps: tf.Tensor[] = [];
    for (let ky = 0; ky < 3; ky++)
      for (let kx = 0; kx < 3; kx++) taps.push(tf.slice(padded, [0, ky, kx, 0], [b, h, w, c]));
    const cols = tf.reshape(tf.concat(taps, 3), [b * h * w, 9 * c]);
    const out = tf.matMul(cols, tf.reshape(weight, [9 * c, weight.shape[3]]));
    return tf.reshape(out, [b, h, w, weight.shape[3]]) as tf.Tensor4D;
  });
}

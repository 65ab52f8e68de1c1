/**
 * sin/cos accurate to float32 rounding on every backend. WGSL's built-in sin/cos only promise an
 * absolute error of 2^-11 on [−π, π] (Vulkan precision rules; SwiftShader is that coarse), which
 * puts Fourier positional encodings 2e-4 off. Here: reduce to whole turns exactly, evaluate Taylor
 * polynomials at a quarter of the angle (|x| ≤ π/4, truncation < 1e-11), then double the angle twice.
 */
import * as tf from '@tensorflow/tfjs';

/** Horner evaluation of Σ c_i·y^i. */
function polynomial(y: tf.Tensor, coefficients: number[]): tf.Tensor {
  let acc: tf.Tensor = tf.scalar(coefficients[coefficients.length - 1]);
  for (let i = coefficients.length - 2; i >= 0; i--) acc = tf.add(tf.mul(acc, y), coefficients[i]);
  return acc;
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
/** sin x = x·Σ (−1)^k x^{2k}/(2k+1)!, cos x = Σ (−1)^k x^{2k}/(2k)!, k ≤ 6. */
const SIN_COEFFS = Array.from({ length: 7 }, (_, k) => (-1) ** k / factorial(2 * k + 1));
const COS_COEFFS = Array.from({ length: 7 }, (_, k) => (-1) ** k / factorial(2 * k));

/** [sin(2π·turns), cos(2π·turns)] elementwise. */
export function sinCosOfTurns(turns: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const fraction = tf.sub(turns, tf.round(turns));
    const quarter = tf.mul(fraction, Math.PI / 2);
    const x2 = tf.square(quarter);
    let s = tf.mul(quarter, polynomial(x2, SIN_COEFFS));
    let c = polynomial(x2, COS_COEFFS);
    for (let i = 0; i < 2; i++) {
      const s2 = tf.mul(tf.mul(s, c), 2);
      c = tf.sub(tf.square(c), tf.square(s));
      s = s2;
    }
    return [s, c];
  });
}

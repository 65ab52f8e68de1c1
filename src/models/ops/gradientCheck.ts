/**
 * Central finite differences against tfjs's analytic gradients (used by the ops, decoder and loss
 * tests on the cpu backend).
 */
import * as tf from '@tensorflow/tfjs';

export interface GradientCheckResult {
  maxAbsError: number;
  /** max |analytic − numeric| / max(|numeric|, floor) over the checked coordinates. */
  maxRelError: number;
  checked: number;
}

/**
 * Checks d f / d x at `coordinates` (all when omitted) with step eps. f must return a scalar and
 * be deterministic; it is called with tensors it must not dispose.
 */
export function gradientCheck(
  f: (x: tf.Tensor) => tf.Scalar,
  x: tf.Tensor,
  eps = 1e-2,
  coordinates?: number[],
  floor = 1e-2,
): GradientCheckResult {
  const analytic = tf.tidy(() => tf.grad(f)(x).dataSync());
  const base = x.dataSync().slice();
  const coords = coordinates ?? [...base.keys()];
  let maxAbsError = 0;
  let maxRelError = 0;
  const evalAt = (values: Float32Array): number =>
    tf.tidy(() => {
      const xt = tf.tensor(values, x.shape);
      return f(xt).dataSync()[0];
    });
  for (const i of coords) {
    const plus = base.slice();
    plus[i] += eps;
    const minus = base.slice();
    minus[i] -= eps;
    const numeric = (evalAt(plus as Float32Array) - evalAt(minus as Float32Array)) / (2 * eps);
    const err = Math.abs(analytic[i] - numeric);
    maxAbsError = Math.max(maxAbsError, err);
    maxRelError = Math.max(maxRelError, err / Math.max(Math.abs(numeric), floor));
  }
  return { maxAbsError, maxRelError, checked: coords.length };
}

/**
 * Gradient plumbing tfjs 4.22 lacks (shared notes §1.2).
 *
 * - Comparison and logical kernels have no registered gradient, so a `tf.where(tf.greater(a, 0), …)`
 *   whose condition depends on a trained tensor throws during backprop. Their true gradient is zero
 *   almost everywhere; we register that once, at import.
 * - `detach` is the missing stop-gradient: indices for gathers, sampling points chosen from
 *   predictions, and attention masks must not be on the tape (a gather's "gradient" for its int32
 *   indices makes backprop throw).
 */
import * as tf from '@tensorflow/tfjs';
import './cpuKernels';

const BINARY = ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'] as const;

function registerZeroGradients(): void {
  for (const kernelName of BINARY) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      // tf.zeros, not zerosLike: the inputs may be bool and gradients must be float32.
      gradFunc: (_dy, saved) => ({ a: () => tf.zeros(saved[0].shape), b: () => tf.zeros(saved[1].shape) }),
    });
  }
  tf.registerGradient({
    kernelName: 'LogicalNot',
    inputsToSave: ['x'],
    gradFunc: (_dy, saved) => ({ x: () => tf.zeros(saved[0].shape) }),
  });
}

registerZeroGradients();

/**
 * The value of `x` without a gradient path back to it. The copy is made inside a custom op whose
 * only recorded input is a constant (custom-op forwards run with the tape off), so every tensor
 * derived from the result — int32 indices included — is invisible to backprop.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const anchor = tf.scalar(0);
    const copy = tf.customGrad((a) => ({ value: tf.clone(x), gradFunc: () => tf.zerosLike(a as tf.Tensor) }));
    return copy(anchor) as T;
  });
}

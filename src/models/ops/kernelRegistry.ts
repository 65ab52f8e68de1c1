import * as tf from '@tensorflow/tfjs';

/**
 * Swaps a backend's registered kernel for one built around it (the stock function is passed in, for
 * the cases the replacement leaves to it); the gradient, registered per kernel name, is unchanged.
 */
export function replaceKernel(
  kernelName: string,
  backendName: string,
  wrap: (stock: tf.KernelFunc) => tf.KernelFunc,
): void {
  const existing = tf.getKernel(kernelName, backendName);
  if (!existing) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...existing, kernelFunc: wrap(existing.kernelFunc) });
}

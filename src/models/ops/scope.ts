import * as tf from '@tensorflow/tfjs';

/** tf.tidy for functions returning structured results (interfaces lack TensorContainer's index signature). */
export function tidyAll<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

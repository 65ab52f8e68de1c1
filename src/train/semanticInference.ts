/**
 * Mask2Former semantic inference on the device (method-spec §5.2): per pixel, the argmax over classes
 * of Σ_q softmax(class_q)[c] · σ(mask_q), the no-object column dropped. One matrix product instead of
 * a C×H×W score map on the CPU; only the labels are read back. `semanticInference` in
 * panopticInference.ts is the CPU form, checked against Mask2Former's fixture.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * classLogits [Q, C+1] (logits or log-probabilities, no-object last); maskLogits [Q, H, W] or
 * [1, Q, H, W] at output resolution → class index per pixel, int32 [H·W] (first index on ties).
 * At most `scoresPerChunk` class scores (C × pixels of a chunk) exist on the device at once.
 */
export function semanticInferenceOnDevice(
  classLogits: tf.Tensor2D,
  maskLogits: tf.Tensor,
  scoresPerChunk = 1 << 24,
): tf.Tensor1D {
  const [numQueries, columns] = classLogits.shape;
  const numClasses = columns - 1;
  const pixels = maskLogits.size / numQueries;
  if (!Number.isInteger(pixels))
    throw new RangeError(`semantic inference: ${maskLogits.size} mask values for ${numQueries} queries`);
  return tf.tidy(() => {
    const classProbs = tf.slice(tf.softmax(classLogits), [0, 0], [numQueries, numClasses]); // [Q, C]
    const masks = tf.sigmoid(tf.reshape(maskLogits, [numQueries, pixels]));
    const chunk = Math.max(1, Math.floor(scoresPerChunk / numClasses));
    const labels: tf.Tensor1D[] = [];
    for (let start = 0; start < pixels; start += chunk) {
      const part = tf.slice(masks, [0, start], [numQueries, Math.min(chunk, pixels - start)]);
      labels.push(tf.argMax(tf.matMul(classProbs, part, true, false), 0) as tf.Tensor1D); // [C, n] → [n]
    }
    return labels.length === 1 ? labels[0] : tf.concat(labels);
  });
}

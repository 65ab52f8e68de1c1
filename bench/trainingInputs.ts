/** Random inputs for timing decoder training (the speed does not depend on the values). */
import * as tf from '@tensorflow/tfjs';
import { buildTextClassifier, type TextClassifier } from '../src/models/decoder/classHead';
import type { DecoderConfig } from '../src/models/decoder/config';
import type { TargetBatch } from '../src/train/losses';
import type { UnlabeledItem } from '../src/train/meanTeacherTrainer';
import { uploadTargets } from '../src/train/targets';

export const BENCH_CLASSES = 150;

/** A text classifier over BENCH_CLASSES classes with 400 synonym rows, like a large label set. */
export function randomClassifier(config: DecoderConfig): TextClassifier {
  const synonyms = Array.from({ length: 400 }, (_, i) => i % BENCH_CLASSES);
  return buildTextClassifier(
    Float32Array.from({ length: synonyms.length * config.embedDim }, (_, i) => Math.sin(i * 0.37)),
    config.embedDim,
    synonyms,
    BENCH_CLASSES,
  );
}

/** Random images [batch, crop, crop, 3] and 20 square-ish targets per image at a quarter of the crop. */
export function randomTrainingBatch(
  config: DecoderConfig,
  batch: number,
  crop: number,
): { images: tf.Tensor4D; targets: TargetBatch } {
  const images = tf.randomUniform([batch, crop, crop, 3], -2, 2, 'float32', 3) as tf.Tensor4D;
  const ts = crop / 4;
  const count = 20;
  const perImage = Array.from({ length: batch }, (_, b) => {
    const masks = new Uint8Array(count * ts * ts);
    for (let k = 0; k < count; k++)
      for (let y = 0; y < ts; y++)
        for (let x = 0; x < ts; x++)
          masks[k * ts * ts + y * ts + x] = Math.floor(y / (ts / 4)) * 5 + Math.floor(x / (ts / 5)) === k ? 1 : 0;
    return {
      width: ts,
      height: ts,
      masks,
      classes: Int32Array.from({ length: count }, (_, k) => (k * 7 + b) % BENCH_CLASSES),
    };
  });
  return { images, targets: uploadTargets(perImage, Math.min(config.numQueries, 50)) };
}

/** Unlabeled images (RGB 0–255) and their CutMix partners, one pair per batch item, at the crop size. */
export function randomUnlabeled(batch: number, crop: number): UnlabeledItem[] {
  const image = (seed: number) => tf.randomUniform([crop, crop, 3], 0, 255, 'float32', seed) as tf.Tensor3D;
  return Array.from({ length: batch }, (_, i) => ({ image: image(10 + 2 * i), partner: image(11 + 2 * i) }));
}

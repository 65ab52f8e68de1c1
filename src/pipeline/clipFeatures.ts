/**
 * The CLIP feature side of the models service: dense res5 maps at a fixed input side (what the
 * feature stage caches) and zero-shot classification of ground-truth segments by mask pooling.
 */
import * as tf from '@tensorflow/tfjs';
import type * as store from '../data/store';
import type { ClipModel } from '../models/clip/clip';
import type { ClipConfig } from '../models/clip/config';
import { classifyGtSegments } from '../models/clip/zeroShot';
import type { TextClassifier } from '../models/decoder/classHead';
import type { LoadedClip } from './clipLoading';
import { normalizeForClip } from './backbone';
import type { ImageDecoder } from './images';
import type { ModelCard } from './modelsApi';

/**
 * Dense res5 maps are cached per image at this input side (or the model's own, if larger): the
 * images are stretched to a square so that every map has the same grid and masks of any image size
 * pool onto it the same way.
 */
const MIN_FEATURE_SIDE = 320;

export function featureSide(config: ClipConfig): number {
  return Math.ceil(Math.max(MIN_FEATURE_SIDE, config.imageSize) / 32) * 32;
}

export const featureKey = (card: ModelCard, side: number, imageId: string) =>
  `clip-res5:${card.sha256.slice(0, 16)}:${side}:${imageId}`;

export interface DenseMap {
  data: Float32Array;
  shape: [number, number, number];
}

export async function computeDense(
  model: ClipModel,
  decode: ImageDecoder,
  image: store.ImageRecord,
  side: number,
): Promise<DenseMap> {
  const { rgba } = await decode(image.blob, image.fileName, { width: side, height: side });
  const rgb = new Float32Array(side * side * 3);
  for (let p = 0; p < side * side; p++) for (let ch = 0; ch < 3; ch++) rgb[3 * p + ch] = rgba[4 * p + ch];
  const x = tf.tidy(() => normalizeForClip(tf.tensor4d(rgb, [1, side, side, 3])));
  const dense = model.trunk.forwardDense(x);
  x.dispose();
  const data = (await dense.data()) as Float32Array;
  const [, h, w, c] = dense.shape;
  dense.dispose();
  return { data, shape: [h, w, c] };
}

/** Predicted category of every non-crowd GT segment, by mask pooling on the dense map (classifyGtSegments). */
export async function classifySegments(
  loaded: LoadedClip,
  classifier: TextClassifier,
  dense: DenseMap,
  ids: Uint32Array,
  width: number,
  segmentIds: number[],
): Promise<Int32Array> {
  const [h, w, c] = dense.shape;
  const denseTensor = tf.tensor4d(dense.data, [1, h, w, c]);
  try {
    return await classifyGtSegments(loaded.model, classifier, denseTensor, ids, width, segmentIds);
  } finally {
    denseTensor.dispose();
  }
}

/**
 * Zero-shot mask classification with CLIP (DEARLi/FC-CLIP's out-of-vocabulary branch, method-spec §2.4-2.5):
 * mask-pool the dense res5 map under each binarised mask, apply the CLIP head (LayerNorm, projection),
 * compare with one L2-normalised text row per synonym, take the max over a class's synonyms, scale by
 * min(exp(logit_scale), 100) and softmax over the classes. Everything is batched over masks. The text
 * rows come from `encodeSynonyms`; the classifier over them is the decoder's (../decoder/classHead.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { synonymMaxCosine, type TextClassifier } from '../decoder/classHead';
import { l2Normalize, MAX_LOGIT_SCALE, type ClipModel } from './clip';
import type { ClipImageHead } from './head';

/** The 14 ViLD prompt templates (DEARLi `VILD_PROMPT`, identical in FC-CLIP). */
export const VILD_TEMPLATES: readonly string[] = [
  'a photo of a {}.',
  'This is a photo of a {}',
  'There is a {} in the scene',
  'There is the {} in the scene',
  'a photo of a {} in the scene',
  'a photo of a small {}.',
  'a photo of a medium {}.',
  'a photo of a large {}.',
  'This is a photo of a small {}.',
  'This is a photo of a medium {}.',
  'This is a photo of a large {}.',
  'There is a small {} in the scene.',
  'There is a medium {} in the scene.',
  'There is a large {} in the scene.',
];

/** Text → rows of `contextLength` CLIP token ids (src/models/clip/tokenizer.ts, or a lookup of precomputed ids). */
export type Tokenize = (texts: string[]) => Int32Array[];

/** Binary masks at logit > 0 after resizing are what FC-CLIP/DEARLi pool with. */
const AREA_EPS = 1e-8;

/**
 * Mask pooling: dense [B, h, w, C], mask logits [B, N, H, W] → [B, N, C] = Σ F·M / (Σ M + 1e-8), with
 * M = [resize(logits) > 0] and resize = bilinear, align_corners=False (PyTorch F.interpolate semantics).
 * Not differentiable with respect to the masks (they are binarised).
 */
export function maskPool(dense: tf.Tensor4D, maskLogits: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, c] = dense.shape;
  const n = maskLogits.shape[1];
  if (maskLogits.shape[0] !== b)
    throw new RangeError(`maskPool: ${maskLogits.shape[0]} mask batches for ${b} feature maps`);
  return tf.tidy(() => {
    const masksNhwc = tf.transpose(maskLogits, [0, 2, 3, 1]);
    const resized =
      masksNhwc.shape[1] === h && masksNhwc.shape[2] === w
        ? masksNhwc
        : tf.image.resizeBilinear(masksNhwc, [h, w], false, true);
    // step, not cast(greater): tfjs-webgpu 4.22 casts bool → float32 by aliasing the int buffer, which
    // later kernels misread (Transpose fails WGSL validation, others see denormals).
    const binary = tf.reshape(tf.step(resized, 0), [b, h * w, n]);
    const sums = tf.matMul(binary, tf.reshape(dense, [b, h * w, c]), true, false);
    const area = tf.expandDims(tf.sum(binary, 1), -1);
    return tf.div(sums, tf.add(area, AREA_EPS)) as tf.Tensor3D;
  });
}

/** CLIP's temperature as the zero-shot branch uses it: min(exp(logit_scale), 100). */
function clampedLogitScale(logitScale: number): number {
  return Math.min(Math.exp(logitScale), MAX_LOGIT_SCALE);
}

/** Region embeddings [..., E] (not normalised) → class logits [..., K]: scale · max over synonyms of the cosine. */
export function zeroShotLogits<T extends tf.Tensor>(
  regionEmbeds: T,
  classifier: TextClassifier,
  logitScale: number,
): T {
  const lead = regionEmbeds.shape.slice(0, -1);
  const e = regionEmbeds.shape[regionEmbeds.rank - 1];
  return tf.tidy(() => {
    const flat = tf.reshape(l2Normalize(regionEmbeds), [-1, e]) as tf.Tensor2D;
    return tf.reshape(tf.mul(synonymMaxCosine(flat, classifier), clampedLogitScale(logitScale)), [
      ...lead,
      classifier.numClasses,
    ]) as T;
  });
}

/** Mask-pooled (pre-norm) features [B, N, C] → class probabilities [B, N, K]. */
function classifyPooled(
  head: ClipImageHead,
  pooled: tf.Tensor3D,
  classifier: TextClassifier,
  logitScale: number,
): tf.Tensor3D {
  return tf.tidy(() => tf.softmax(zeroShotLogits(head.project(pooled), classifier, logitScale)));
}

/** The whole branch: dense res5 [B, h, w, C] + mask logits [B, N, H, W] → class probabilities [B, N, K]. */
export function zeroShotMaskProbabilities(
  model: ClipModel,
  dense: tf.Tensor4D,
  maskLogits: tf.Tensor4D,
  classifier: TextClassifier,
): tf.Tensor3D {
  if (model.logitScale === null) throw new Error('zero-shot classification needs the CLIP logit_scale');
  const logitScale = model.logitScale;
  return tf.tidy(() => classifyPooled(model.imageHead, maskPool(dense, maskLogits), classifier, logitScale));
}

export interface SynonymEncodingOptions {
  templates?: readonly string[];
  /** Texts per text-tower call (bounds GPU memory). */
  textsPerBatch?: number;
}

/**
 * One text row per synonym [S, E]: every template filled in → CLIP text tower → L2-normalise each →
 * mean over templates → L2-normalise. `buildTextClassifier` (../decoder/classHead.ts) groups the rows
 * into classes.
 */
export function encodeSynonyms(
  model: ClipModel,
  synonyms: readonly string[],
  tokenize: Tokenize,
  options: SynonymEncodingOptions = {},
): tf.Tensor2D {
  const templates = options.templates ?? VILD_TEMPLATES;
  const synonymsPerBatch = Math.max(1, Math.floor((options.textsPerBatch ?? 256) / templates.length));
  const chunks: tf.Tensor2D[] = [];
  for (let start = 0; start < synonyms.length; start += synonymsPerBatch) {
    const batch = synonyms.slice(start, start + synonymsPerBatch);
    const texts = batch.flatMap((s) => templates.map((t) => t.replaceAll('{}', s)));
    const ids = tokenize(texts);
    if (ids.length !== texts.length)
      throw new RangeError(`tokenize returned ${ids.length} rows for ${texts.length} texts`);
    chunks.push(
      tf.tidy(() => {
        const perTemplate = tf.reshape(l2Normalize(model.encodeText(ids)), [batch.length, templates.length, -1]);
        return l2Normalize(tf.mean(perTemplate, 1)) as tf.Tensor2D;
      }),
    );
  }
  if (chunks.length === 1) return chunks[0];
  const rows = tf.concat(chunks, 0);
  tf.dispose(chunks);
  return rows;
}

/** Segments × pixels of mask logits uploaded at once by classifyGtSegments (4 bytes each). */
const MAX_MASK_PIXELS_PER_BATCH = 8 * 1024 * 1024;

/**
 * Zero-shot class of ground-truth segments (the Models tab's GT-mask evaluation): each segment of
 * the id map `ids` (width × height) becomes ±1 mask logits, so that after bilinear resizing to the
 * feature grid "> 0" keeps the cells it at least half covers; then zeroShotMaskProbabilities and
 * argmax. `dense` is the image's res5 map [1, h, w, C]. Batches are padded to one size so that WebGPU
 * compiles the pooling shaders once per image size.
 */
export async function classifyGtSegments(
  model: ClipModel,
  classifier: TextClassifier,
  dense: tf.Tensor4D,
  ids: Uint32Array,
  width: number,
  segmentIds: readonly number[],
  maxSegmentsPerBatch = 32,
): Promise<Int32Array> {
  const pixels = ids.length;
  const perBatch = Math.max(1, Math.min(maxSegmentsPerBatch, Math.floor(MAX_MASK_PIXELS_PER_BATCH / pixels)));
  const predicted = new Int32Array(segmentIds.length);
  for (let start = 0; start < segmentIds.length; start += perBatch) {
    const batch = segmentIds.slice(start, start + perBatch);
    const logits = new Float32Array(perBatch * pixels).fill(-1);
    batch.forEach((id, n) => {
      const offset = n * pixels;
      for (let p = 0; p < pixels; p++) if (ids[p] === id) logits[offset + p] = 1;
    });
    const best = tf.tidy(() =>
      tf.argMax(
        zeroShotMaskProbabilities(model, dense, tf.tensor4d(logits, [1, perBatch, pixels / width, width]), classifier),
        -1,
      ),
    );
    predicted.set(((await best.data()) as Int32Array).subarray(0, batch.length), start);
    best.dispose();
  }
  return predicted;
}

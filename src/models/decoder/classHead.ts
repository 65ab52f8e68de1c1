/**
 * Text-space classification (method-spec §2.4): embeddings are L2-normalised and compared by cosine
 * with fixed CLIP text rows (one per synonym); a class's score is the max over its synonyms. The one
 * text classifier of the lab: M2F-Lang's class head (below, with a learnable void embedding and
 * logit = min(exp(logit_scale), 100)·cos) and CLIP's zero-shot branch (../clip/zeroShot.ts) share it.
 */
import * as tf from '@tensorflow/tfjs';
import type { DecoderConfig } from './config';
import { addLinear, torchLinear, type ParamTable } from './params';

/** Fixed synonym rows and which rows belong to which class. */
export interface TextClassifier {
  numClasses: number;
  /** [S, E] L2-normalised synonym rows (fixed). */
  rows: tf.Tensor2D;
  /**
   * int32 [C·maxSynonyms]: for class c, positions c·maxSynonyms… hold its synonym rows; unused
   * slots point at column S, a constant very negative logit, so they never win the max.
   */
  synonymSlots: tf.Tensor1D;
  maxSynonyms: number;
}

/** rows: [S, E] CLIP text embeddings (normalised here); synonymClass[s] = the class of row s. */
export function buildTextClassifier(
  rows: Float32Array,
  embedDim: number,
  synonymClass: ArrayLike<number>,
  numClasses: number,
): TextClassifier {
  const s = synonymClass.length;
  if (rows.length !== s * embedDim)
    throw new Error(`text classifier: ${rows.length} values for ${s} synonyms × ${embedDim}`);
  const perClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < s; i++) {
    const c = synonymClass[i];
    if (!(c >= 0 && c < numClasses))
      throw new Error(`text classifier: synonym ${i} has class ${c}, outside [0, ${numClasses})`);
    perClass[c].push(i);
  }
  const empty = perClass.findIndex((l) => l.length === 0);
  if (empty >= 0) throw new Error(`text classifier: class ${empty} has no synonym row`);
  const maxSynonyms = Math.max(...perClass.map((l) => l.length));
  const slots = new Int32Array(numClasses * maxSynonyms).fill(s);
  perClass.forEach((l, c) => slots.set(l, c * maxSynonyms));
  return tf.tidy(() => {
    const t = tf.tensor2d(rows, [s, embedDim]);
    return {
      numClasses,
      rows: tf.keep(tf.div(t, tf.norm(t, 'euclidean', 1, true))) as tf.Tensor2D,
      synonymSlots: tf.keep(tf.tensor1d(slots, 'int32')),
      maxSynonyms,
    };
  });
}

export function disposeTextClassifier(c: TextClassifier): void {
  c.rows.dispose();
  c.synonymSlots.dispose();
}

const l2Normalize = (x: tf.Tensor): tf.Tensor => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12));

/** L2-normalised embeddings [N, E] → [N, C]: per class, the max over its synonyms of the cosine. */
export function synonymMaxCosine(normalized: tf.Tensor2D, classifier: TextClassifier): tf.Tensor2D {
  return tf.tidy(() => {
    const n = normalized.shape[0];
    const synonymCos = tf.matMul(normalized, classifier.rows, false, true); // [N, S]
    const padded = tf.concat([synonymCos, tf.fill([n, 1], -1e4)], 1);
    return tf.max(
      tf.reshape(tf.gather(padded, classifier.synonymSlots, 1), [n, classifier.numClasses, classifier.maxSynonyms]),
      2,
    ) as tf.Tensor2D;
  });
}

/** classEmbed [B, Q, E] → logits [B, Q, C+1] (void last). */
export function classLogits(
  classEmbed: tf.Tensor3D,
  classifier: TextClassifier,
  logitScale: tf.Tensor,
  voidEmbedding: tf.Tensor2D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, q, e] = classEmbed.shape;
    const x = tf.reshape(l2Normalize(classEmbed), [b * q, e]) as tf.Tensor2D;
    const scale = tf.minimum(tf.exp(logitScale), 100);
    const perClass = synonymMaxCosine(x, classifier);
    const voidCos = tf.matMul(x, l2Normalize(voidEmbedding), false, true); // [BQ, 1]
    return tf.reshape(tf.mul(tf.concat([perClass, voidCos], 1), scale), [
      b,
      q,
      classifier.numClasses + 1,
    ]) as tf.Tensor3D;
  });
}

/** The class head's parameters: the 3-layer class-embedding MLP, the learnable logit scale (decayed like
 * any weight, as upstream) and the void-class embedding. */
export function declareClassHeadParams(t: ParamTable, c: DecoderConfig): void {
  const h = c.hiddenDim;
  for (let i = 0; i < 3; i++)
    addLinear(t, `decoder.class_embed.${i}`, h, i === 2 ? c.embedDim : h, torchLinear(h), torchLinear(h));
  t.set('decoder.logit_scale', { shape: [], init: { kind: 'constant', values: [Math.log(1 / 0.07)] }, decay: true });
  t.set('decoder.void_embedding', { shape: [1, c.embedDim], init: { kind: 'normal', std: 1 }, decay: false });
}

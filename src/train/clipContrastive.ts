/**
 * Contrastive CLIP training (InfoNCE in both directions with a learnable logit scale, Radford et al.
 * 2021) of an OpenCLIP ConvNeXt model, through the same ClipModel code the lab runs for inference.
 * On tfjs cpu the towers' LayerNorm and GELU are the differentiable nn.ts compositions, so gradients
 * flow through them; this trainer is for Node (tfjs cpu), where the demo CLIP is made.
 *
 * The token embedding (49408 rows) lives on the host in ClipModel and is never uploaded. Training
 * captions use a few hundred tokens, so the trainer keeps those rows as one small variable and
 * writes them back into the full table on export.
 */
import * as tf from '@tensorflow/tfjs';
import { ClipModel, l2Normalize, MAX_LOGIT_SCALE, type ClipWeights } from '../models/clip/clip';
import type { ClipConfig } from '../models/clip/config';
import { AdamW, type OptimizerConfig } from './optim';

/**
 * Symmetric InfoNCE: CE over texts for each image and over images for each text. `positives` [N, N]
 * has 1 where pair i's caption describes image j (always the diagonal; also pairs with the same
 * content, which a small world repeats within a batch): such pairs are targets, not negatives,
 * each row's target mass split evenly among them.
 */
export function contrastiveLoss(
  imageEmbeds: tf.Tensor2D,
  textEmbeds: tf.Tensor2D,
  positives: tf.Tensor2D,
  logitScale: tf.Scalar,
): tf.Scalar {
  return tf.tidy(() => {
    const scale = tf.exp(tf.minimum(logitScale, Math.log(MAX_LOGIT_SCALE)));
    const logits = tf.mul(tf.matMul(l2Normalize(imageEmbeds), l2Normalize(textEmbeds), false, true), scale);
    const targets = tf.div(positives, tf.sum(positives, 1, true));
    const perImage = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits, 1)), 1));
    const perText = tf.neg(tf.sum(tf.mul(tf.transpose(targets), tf.logSoftmax(tf.transpose(logits), 1)), 1));
    return tf.div(tf.add(tf.mean(perImage), tf.mean(perText)), 2) as tf.Scalar;
  });
}

/** 1 where two pairs have the same content key (symmetric, diagonal set). */
export function positivesFromKeys(keys: readonly string[]): tf.Tensor2D {
  const n = keys.length;
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = keys[i] === keys[j] ? 1 : 0;
  return tf.tensor2d(m, [n, n]);
}

/** Replaces every tensor of a weight tree by a trainable variable named by its path. */
function toVariables(value: unknown, path: string, out: Map<string, tf.Variable>): unknown {
  if (value instanceof tf.Tensor) {
    const v = tf.variable(value, true);
    value.dispose();
    out.set(path, v);
    return v;
  }
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((x, i) => toVariables(x, `${path}.${i}`, out));
  return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, toVariables(x, path ? `${path}.${k}` : k, out)]));
}

export interface ContrastiveClipOptions {
  optimizer: OptimizerConfig;
  /** Every token id the captions may contain (others are refused): the rows that train. */
  vocabulary: Iterable<number>;
}

export class ContrastiveClipTrainer {
  readonly model: ClipModel;
  private readonly params = new Map<string, tf.Variable>();
  private readonly tokenRows: tf.Variable;
  private readonly logitScale: tf.Variable;
  private readonly optimizer: AdamW;
  /** Token id → row of tokenRows, −1 for tokens that do not train. */
  private readonly rowOfToken: Int32Array;
  private readonly tokenIds: Int32Array;
  private readonly tokenTable: Float32Array;

  constructor(
    readonly config: ClipConfig,
    weights: ClipWeights,
    options: ContrastiveClipOptions,
  ) {
    if (!weights.text || weights.logitScale === undefined)
      throw new Error('contrastive training needs the text tower and logit_scale');
    const { vocabSize, width } = config.text;
    this.tokenTable = weights.text.tokenEmbedding;
    this.tokenIds = Int32Array.from(new Set(options.vocabulary)).sort();
    this.rowOfToken = new Int32Array(vocabSize).fill(-1);
    const rows = new Float32Array(this.tokenIds.length * width);
    this.tokenIds.forEach((id, r) => {
      if (id < 0 || id >= vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary`);
      this.rowOfToken[id] = r;
      rows.set(this.tokenTable.subarray(id * width, (id + 1) * width), r * width);
    });
    this.tokenRows = tf.variable(tf.tensor2d(rows, [this.tokenIds.length, width]), true);
    this.logitScale = tf.variable(tf.scalar(weights.logitScale), true);
    const variables = toVariables(
      { trunk: weights.trunk, imageHead: weights.imageHead, text: weights.text },
      '',
      this.params,
    ) as ClipWeights;
    this.model = new ClipModel(config, { ...variables, logitScale: weights.logitScale });
    this.params.set('text.tokenRows', this.tokenRows);
    this.params.set('logitScale', this.logitScale);
    // Weight decay on matrices and kernels only (not norms, biases, layer scales, embeddings, the scale), as CLIP does.
    const decayed = (name: string) => this.params.get(name)!.rank >= 2 && !/Embedding|tokenRows/.test(name);
    this.optimizer = new AdamW(this.params, decayed, options.optimizer);
  }

  /** Rows of contextLength token ids → [B, E], through the model's own transformer blocks. */
  private encodeText(ids: readonly Int32Array[]): tf.Tensor2D {
    const text = this.model.text!;
    const n = this.config.text.contextLength;
    const rows = new Int32Array(ids.length * n);
    ids.forEach((row, b) => {
      if (row.length !== n) throw new RangeError(`token rows must have ${n} ids, got ${row.length}`);
      row.forEach((id, t) => {
        const r = id >= 0 && id < this.rowOfToken.length ? this.rowOfToken[id] : -1;
        if (r < 0) throw new RangeError(`token id ${id} is not in the training vocabulary`);
        rows[b * n + t] = r;
      });
    });
    return tf.tidy(() => {
      const embedded = tf.add(
        tf.reshape(tf.gather(this.tokenRows, tf.tensor1d(rows, 'int32')), [ids.length, n, this.config.text.width]),
        text.weights.positionalEmbedding,
      );
      return text.pool(text.finalNorm(text.forwardBlocks(embedded as tf.Tensor3D)), ids);
    });
  }

  /**
   * One optimizer step on a batch: image groups (each [Bg, H, W, 3], normalised; groups of different
   * sizes are encoded separately and concatenated), one caption per image in the same order, and a
   * content key per pair (equal keys = same content). Returns the loss (a tensor: read it when logging).
   */
  step(
    imageGroups: readonly tf.Tensor4D[],
    captions: readonly Int32Array[],
    keys: readonly string[],
    iteration: number,
  ): tf.Scalar {
    const count = imageGroups.reduce((a, g) => a + g.shape[0], 0);
    if (captions.length !== count || keys.length !== count)
      throw new RangeError(`${count} images, ${captions.length} captions, ${keys.length} keys`);
    const positives = positivesFromKeys(keys);
    const names = [...this.params.keys()];
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const images = tf.concat(imageGroups.map((g) => this.model.encodeImage(g))) as tf.Tensor2D;
          return contrastiveLoss(images, this.encodeText(captions), positives, this.logitScale as tf.Scalar);
        }),
      names.map((n) => this.params.get(n)!),
    );
    const byName = new Map<string, tf.Tensor>();
    for (const n of names) byName.set(n, grads[this.params.get(n)!.name]);
    tf.dispose(this.optimizer.apply(byName, iteration));
    // open_clip clamps the stored log scale to [0, ln 100] after every step.
    tf.tidy(() => this.logitScale.assign(tf.clipByValue(this.logitScale, 0, Math.log(MAX_LOGIT_SCALE))));
    tf.dispose([positives, ...Object.values(grads)]);
    return value as tf.Scalar;
  }

  /**
   * The trained weights as ClipWeights (the trunk, head and text tensors are the live variables; the
   * full token table gets the trained rows). For clipStateDict; reads the GPU/CPU copies once.
   */
  exportWeights(): ClipWeights {
    const width = this.config.text.width;
    const rows = this.tokenRows.dataSync() as Float32Array;
    this.tokenIds.forEach((id, r) => this.tokenTable.set(rows.subarray(r * width, (r + 1) * width), id * width));
    const { trunk, imageHead, text } = this.model;
    return {
      trunk: trunk.weights,
      imageHead: imageHead.weights,
      text: text!.weights,
      logitScale: (this.logitScale.dataSync() as Float32Array)[0],
    };
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
    tf.dispose([this.tokenRows, this.logitScale]);
  }
}

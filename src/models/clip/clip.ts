/**
 * OpenCLIP ConvNeXt CLIP: image tower (timm ConvNeXt trunk + head), text tower, and the learned
 * logit scale. Images are NHWC, already normalised with the OpenAI CLIP mean/std.
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipConfig } from './config';
import { ConvNextTrunk, type ConvNextTrunkWeights } from './convnext';
import { ClipImageHead, type ClipImageHeadWeights } from './head';
import { ClipTextTransformer, type ClipTextWeights } from './textTransformer';
import type { TensorSource } from '../weights/tensorSource';
import { loadClipWeights, randomClipSource, type LoadClipOptions } from './weights';

/** OpenAI CLIP normalisation of [0, 1] RGB, used by every OpenCLIP ConvNeXt model. */
export const CLIP_IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_IMAGE_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** [B, H, W, 3] RGB in [0, 1] → the model input, (x − mean) / std per channel. */
export function normalizeClipImage(rgb01: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.sub(rgb01, tf.tensor1d([...CLIP_IMAGE_MEAN])), tf.tensor1d([...CLIP_IMAGE_STD])));
}

/** CLIP clamps its temperature: logits use min(exp(logit_scale), 100). */
export const MAX_LOGIT_SCALE = 100;

export interface ClipWeights {
  trunk: ConvNextTrunkWeights;
  imageHead: ClipImageHeadWeights;
  /** Absent when only the image tower was loaded (e.g. from a timm checkpoint). */
  text?: ClipTextWeights;
  /** The stored log scale (open_clip `logit_scale`); absent with the image tower alone. */
  logitScale?: number;
}

export class ClipModel {
  readonly trunk: ConvNextTrunk;
  readonly imageHead: ClipImageHead;
  readonly text: ClipTextTransformer | null;
  readonly logitScale: number | null;

  constructor(
    readonly config: ClipConfig,
    weights: ClipWeights,
  ) {
    this.trunk = new ConvNextTrunk(config.trunk, weights.trunk);
    this.imageHead = new ClipImageHead(weights.imageHead, config.trunk.eps);
    this.text = weights.text ? new ClipTextTransformer(config.text, weights.text) : null;
    this.logitScale = weights.logitScale ?? null;
  }

  /** The family's factory (open_clip's create_model): a config and a checkpoint in either naming → the model. */
  static async load(source: TensorSource, config: ClipConfig, options: LoadClipOptions = {}): Promise<ClipModel> {
    return new ClipModel(config, await loadClipWeights(config, source, options));
  }

  /** A model with seeded random weights (benchmarks, other modules' tests). */
  static random(config: ClipConfig, seed: number, towers: 'all' | 'image' = 'all'): Promise<ClipModel> {
    return ClipModel.load(randomClipSource(config, seed, towers), config, { towers });
  }

  /** open_clip `encode_image`: [B, H, W, 3] → [B, E] (not L2-normalised). */
  encodeImage(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.imageHead.forward(this.trunk.forwardDense(images)));
  }

  /** open_clip `encode_text`: rows of `contextLength` token ids → [B, E] (not L2-normalised). */
  encodeText(ids: readonly Int32Array[]): tf.Tensor2D {
    if (!this.text) throw new Error('this CLIP model was loaded without its text tower');
    return this.text.encode(ids);
  }

  /** exp(logit_scale), unclamped (what open_clip's forward returns). */
  logitScaleExp(): number {
    if (this.logitScale === null) throw new Error('this CLIP model was loaded without logit_scale');
    return Math.exp(this.logitScale);
  }

  /** open_clip `logits_per_image`: exp(logit_scale) · normalise(image) · normalise(text)ᵀ, [Bi, Bt]. */
  logitsPerImage(imageEmbeds: tf.Tensor2D, textEmbeds: tf.Tensor2D): tf.Tensor2D {
    const scale = this.logitScaleExp();
    return tf.tidy(() => tf.mul(tf.matMul(l2Normalize(imageEmbeds), l2Normalize(textEmbeds), false, true), scale));
  }

  dispose(): void {
    this.trunk.dispose();
    this.imageHead.dispose();
    this.text?.dispose();
  }
}

/** x / ‖x‖ over the last axis (torch F.normalize, eps 1e-12). */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)));
}

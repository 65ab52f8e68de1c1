/**
 * SAM's prompt encoder (segment-anything `PromptEncoder`): random-Fourier positional encoding of
 * points and box corners (sparse embeddings) and the mask-input downscaler or the learned no-mask
 * embedding (dense embeddings, channels-last).
 */
import * as tf from '@tensorflow/tfjs';
import { geluInference } from '../ops/inferenceKernels';
import { layerNorm } from '../ops/nn';
import { sinCosOfTurns } from '../ops/trig';
import type { SamPromptEncoderConfig } from './config';

export interface SamPrompts {
  /** [B, N, 2] (x, y) in the model input frame (after ResizeLongestSide.apply_coords). */
  pointCoords?: tf.Tensor3D;
  /** [B, N]: 1 foreground, 0 background, -1 padding. */
  pointLabels?: tf.Tensor2D;
  /** [B, 4] x1, y1, x2, y2 in the model input frame. */
  boxes?: tf.Tensor2D;
  /** [B, 4h, 4w] low-res mask logits from an earlier prediction. */
  masks?: tf.Tensor3D;
}

export class SamPromptEncoder {
  readonly config: SamPromptEncoderConfig;
  private readonly gaussian: tf.Tensor2D;
  private readonly pointEmbeddings: tf.Tensor[];
  private readonly notAPoint: tf.Tensor;
  private readonly noMask: tf.Tensor;
  private readonly maskDown: {
    conv1: [tf.Tensor4D, tf.Tensor];
    ln1: [tf.Tensor1D, tf.Tensor1D];
    conv2: [tf.Tensor4D, tf.Tensor];
    ln2: [tf.Tensor1D, tf.Tensor1D];
    conv3: [tf.Tensor4D, tf.Tensor];
  };

  constructor(config: SamPromptEncoderConfig, weights: Map<string, tf.Tensor>) {
    this.config = config;
    const get = (name: string) => weights.get(`prompt_encoder.${name}`)!;
    this.gaussian = get('pe_layer.positional_encoding_gaussian_matrix') as tf.Tensor2D;
    this.pointEmbeddings = [0, 1, 2, 3].map((i) => get(`point_embeddings.${i}.weight`));
    this.notAPoint = get('not_a_point_embed.weight');
    this.noMask = get('no_mask_embed.weight');
    const conv = (i: number): [tf.Tensor4D, tf.Tensor] => [
      get(`mask_downscaling.${i}.weight`) as tf.Tensor4D,
      get(`mask_downscaling.${i}.bias`),
    ];
    const ln = (i: number): [tf.Tensor1D, tf.Tensor1D] => [
      get(`mask_downscaling.${i}.weight`) as tf.Tensor1D,
      get(`mask_downscaling.${i}.bias`) as tf.Tensor1D,
    ];
    this.maskDown = { conv1: conv(0), ln1: ln(1), conv2: conv(3), ln2: ln(4), conv3: conv(6) };
  }

  /** [sin(2π(2c−1)G), cos(2π(2c−1)G)] for coords in [0, 1], [..., 2] → [..., C]. */
  private fourier(coords01: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const shape = coords01.shape;
      const flat = tf.sub(tf.mul(coords01.reshape([-1, 2]), 2), 1);
      // not tf.sin/cos: WGSL's are only accurate to 2^-11 (see ops/trig.ts)
      const [sin, cos] = sinCosOfTurns(tf.matMul(flat as tf.Tensor2D, this.gaussian));
      return tf.concat([sin, cos], -1).reshape([...shape.slice(0, -1), this.config.embedDim]);
    });
  }

  /** `get_dense_pe`: [1, h, w, C], cell centres with x first. */
  densePositionalEncoding(): tf.Tensor4D {
    return tf.tidy(() => {
      const [h, w] = this.config.imageEmbeddingSize;
      const coords = new Float32Array(h * w * 2);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          coords[(y * w + x) * 2] = (x + 0.5) / w;
          coords[(y * w + x) * 2 + 1] = (y + 0.5) / h;
        }
      }
      return this.fourier(tf.tensor3d(coords, [h, w, 2])).reshape([1, h, w, this.config.embedDim]) as tf.Tensor4D;
    });
  }

  /** Pixel coords (already +0.5) → PE normalised by the padded input size. */
  private coordsEncoding(coords: tf.Tensor): tf.Tensor {
    const [inH, inW] = this.config.inputImageSize;
    return this.fourier(tf.div(coords, tf.tensor1d([inW, inH])));
  }

  private embedPoints(coords: tf.Tensor3D, labels: tf.Tensor2D, pad: boolean): tf.Tensor3D {
    return tf.tidy(() => {
      let c: tf.Tensor3D = tf.add(coords, 0.5);
      let l: tf.Tensor2D = labels.toFloat();
      if (pad) {
        // a point without a box gets an extra padding point (0, 0) with label −1
        const b = c.shape[0];
        c = tf.concat([c, tf.zeros([b, 1, 2])], 1);
        l = tf.concat([l, tf.fill([b, 1], -1)], 1);
      }
      const pe = this.coordsEncoding(c);
      const label = l.expandDims(-1);
      const isPad = tf.equal(label, -1).toFloat();
      const is = (v: number) => tf.equal(label, v).toFloat();
      return tf.addN([
        tf.mul(pe, tf.sub(1, isPad)),
        tf.mul(isPad, this.notAPoint),
        tf.mul(is(0), this.pointEmbeddings[0]),
        tf.mul(is(1), this.pointEmbeddings[1]),
      ]) as tf.Tensor3D;
    });
  }

  private embedBoxes(boxes: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const corners = this.coordsEncoding(tf.add(boxes, 0.5).reshape([-1, 2, 2]));
      const cornerEmbedding = tf.concat([this.pointEmbeddings[2], this.pointEmbeddings[3]], 0).expandDims(0);
      return tf.add(corners, cornerEmbedding) as tf.Tensor3D;
    });
  }

  private embedMasks(masks: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const m = this.maskDown;
      const eps = this.config.layerNormEps;
      let x: tf.Tensor4D = masks.expandDims(-1) as tf.Tensor4D;
      x = tf.add(tf.conv2d(x, m.conv1[0], 2, 'valid'), m.conv1[1]) as tf.Tensor4D;
      x = geluInference(layerNorm(x, m.ln1[0], m.ln1[1], eps));
      x = tf.add(tf.conv2d(x, m.conv2[0], 2, 'valid'), m.conv2[1]) as tf.Tensor4D;
      x = geluInference(layerNorm(x, m.ln2[0], m.ln2[1], eps));
      return tf.add(tf.conv2d(x, m.conv3[0], 1, 'valid'), m.conv3[1]) as tf.Tensor4D;
    });
  }

  /**
   * Sparse [B, T, C] and dense embeddings: [B, h, w, C] from mask prompts, else the no-mask embedding
   * once, [1, h, w, C]: it is the same for every prompt, so the decoder shares its first image projections.
   */
  forward(prompts: SamPrompts): { sparse: tf.Tensor3D; dense: tf.Tensor4D } {
    return tf.tidy(() => {
      const batch = prompts.pointCoords?.shape[0] ?? prompts.boxes?.shape[0] ?? prompts.masks?.shape[0] ?? 1;
      const C = this.config.embedDim;
      const parts: tf.Tensor3D[] = [];
      if (prompts.pointCoords && prompts.pointLabels)
        parts.push(this.embedPoints(prompts.pointCoords, prompts.pointLabels, !prompts.boxes));
      if (prompts.boxes) parts.push(this.embedBoxes(prompts.boxes));
      const sparse = parts.length === 0 ? tf.zeros([batch, 0, C]) : parts.length === 1 ? parts[0] : tf.concat(parts, 1);
      const [h, w] = this.config.imageEmbeddingSize;
      const dense = prompts.masks
        ? this.embedMasks(prompts.masks)
        : tf.tile(this.noMask.reshape([1, 1, 1, C]), [1, h, w, 1]);
      return { sparse: sparse as tf.Tensor3D, dense: dense as tf.Tensor4D };
    });
  }
}

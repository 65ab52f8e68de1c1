/**
 * SAM's mask decoder (segment-anything `MaskDecoder`): output tokens + prompt tokens through the
 * two-way transformer, 4x upscaling of the image features by two transposed convolutions, one
 * hypernetwork MLP per mask token, and the IoU head.
 */
import * as tf from '@tensorflow/tfjs';
import { gelu, layerNorm, linear } from '../ops/nn';
import type { SamMaskDecoderConfig } from './config';
import { SamTwoWayTransformer } from './twoWayTransformer';

type Dense = [tf.Tensor2D, tf.Tensor];

// a type alias (not an interface) so that tf.tidy accepts it as a TensorContainer
export type SamDecoderOutput = {
  /** [B, M, 4h, 4w] low-res mask logits (M = 3 with multimask output, else 1). */
  lowResLogits: tf.Tensor4D;
  /** [B, M] */
  iouPredictions: tf.Tensor2D;
};

/** segment-anything `MLP`: Linear layers with ReLU between them (no sigmoid in SAM's heads). */
function mlp(layers: Dense[], x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => layers.reduce((h, [w, b], i) => (i < layers.length - 1 ? tf.relu(linear(h, w, b)) : linear(h, w, b)), x));
}

export class SamMaskDecoder {
  readonly config: SamMaskDecoderConfig;
  readonly transformer: SamTwoWayTransformer;
  private readonly outputTokens: tf.Tensor2D;
  private readonly upscale: { conv1: [tf.Tensor4D, tf.Tensor]; ln: [tf.Tensor, tf.Tensor]; conv2: [tf.Tensor4D, tf.Tensor] };
  private readonly hypernetworks: Dense[][];
  private readonly iouHead: Dense[];

  /** Owns `outputTokens` (the concatenated IoU and mask tokens). */
  constructor(config: SamMaskDecoderConfig, weights: Map<string, tf.Tensor>) {
    this.config = config;
    const get = (name: string) => weights.get(`mask_decoder.${name}`)!;
    const dense = (name: string): Dense => [get(`${name}.weight`) as tf.Tensor2D, get(`${name}.bias`)];
    this.transformer = new SamTwoWayTransformer(config, weights);
    this.outputTokens = tf.concat([get('iou_token.weight'), get('mask_tokens.weight')], 0) as tf.Tensor2D;
    this.upscale = {
      conv1: [get('output_upscaling.0.weight') as tf.Tensor4D, get('output_upscaling.0.bias')],
      ln: [get('output_upscaling.1.weight'), get('output_upscaling.1.bias')],
      conv2: [get('output_upscaling.3.weight') as tf.Tensor4D, get('output_upscaling.3.bias')],
    };
    const numMaskTokens = config.numMultimaskOutputs + 1;
    this.hypernetworks = Array.from({ length: numMaskTokens }, (_, i) => [0, 1, 2].map((l) => dense(`output_hypernetworks_mlps.${i}.layers.${l}`)));
    this.iouHead = Array.from({ length: config.iouHeadDepth }, (_, l) => dense(`iou_prediction_head.layers.${l}`));
  }

  /** ConvTranspose2d k=2, s=2: [B, h, w, Cin] → [B, 2h, 2w, Cout]. */
  private upsample2x(x: tf.Tensor4D, [filter, bias]: [tf.Tensor4D, tf.Tensor]): tf.Tensor4D {
    const [b, h, w] = x.shape;
    return tf.add(tf.conv2dTranspose(x, filter, [b, 2 * h, 2 * w, filter.shape[2]], 2, 'valid'), bias) as tf.Tensor4D;
  }

  /**
   * imageEmbeddings / imagePe [1, h, w, C] (one image, shared by the B prompts), sparse [B, T, C],
   * dense [B, h, w, C].
   */
  forward(imageEmbeddings: tf.Tensor4D, imagePe: tf.Tensor4D, sparse: tf.Tensor3D, dense: tf.Tensor4D, multimaskOutput: boolean): SamDecoderOutput {
    const [, h, w, C] = imageEmbeddings.shape;
    const batch = sparse.shape[0];
    const numMaskTokens = this.config.numMultimaskOutputs + 1;
    const { tokens, src, pe } = tf.tidy(() => ({
      tokens: tf.concat([tf.tile(this.outputTokens.expandDims(0), [batch, 1, 1]), sparse], 1) as tf.Tensor3D,
      // the image embedding is repeated per prompt (upstream repeat_interleave) and gets the dense prompt added
      src: tf.add(imageEmbeddings, dense).reshape([batch, h * w, C]) as tf.Tensor3D,
      pe: imagePe.reshape([1, h * w, C]) as tf.Tensor3D,
    }));
    const { queries, keys } = this.transformer.forward(src, pe, tokens);
    tf.dispose([tokens, src, pe]);
    const out = tf.tidy(() => {
      const eps = this.config.layerNormEps;
      let up = this.upsample2x(keys.reshape([batch, h, w, C]), this.upscale.conv1);
      up = gelu(layerNorm(up, this.upscale.ln[0], this.upscale.ln[1], eps)) as tf.Tensor4D;
      up = gelu(this.upsample2x(up, this.upscale.conv2)) as tf.Tensor4D;
      const [, H, W, c8] = up.shape;
      const hyper = tf.stack(
        this.hypernetworks.map((layers, i) => mlp(layers, queries.slice([0, 1 + i, 0], [batch, 1, C]).reshape([batch, C]))),
        1,
      ) as tf.Tensor3D;
      const masks = tf.matMul(hyper, up.reshape([batch, H * W, c8]), false, true).reshape([batch, numMaskTokens, H, W]) as tf.Tensor4D;
      const iou = mlp(this.iouHead, queries.slice([0, 0, 0], [batch, 1, C]).reshape([batch, C])) as tf.Tensor2D;
      const first = multimaskOutput ? 1 : 0;
      const count = multimaskOutput ? numMaskTokens - 1 : 1;
      return {
        lowResLogits: masks.slice([0, first, 0, 0], [batch, count, H, W]) as tf.Tensor4D,
        iouPredictions: iou.slice([0, first], [batch, count]) as tf.Tensor2D,
      };
    });
    tf.dispose([queries, keys]);
    return out;
  }

  dispose(): void {
    this.outputTokens.dispose();
  }
}

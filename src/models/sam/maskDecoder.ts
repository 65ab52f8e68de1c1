/**
 * SAM's mask decoder (segment-anything `MaskDecoder`): output tokens + prompt tokens through the
 * two-way transformer, 4x upscaling of the image features by two transposed convolutions, one
 * hypernetwork MLP per mask token, and the IoU head.
 */
import * as tf from '@tensorflow/tfjs';
import { geluInference } from '../ops/inferenceKernels';
import { layerNorm, linear } from '../ops/nn';
import type { SamMaskDecoderConfig } from './config';
import { SamTwoWayTransformer } from './twoWayTransformer';

type Dense = [tf.Tensor2D, tf.Tensor1D];

// a type alias (not an interface) so that tf.tidy accepts it as a TensorContainer
export type SamDecoderOutput = {
  /** [B, M, 4h, 4w] low-res mask logits (M = 3 with multimask output, else 1). */
  lowResLogits: tf.Tensor4D;
  /** [B, M] */
  iouPredictions: tf.Tensor2D;
};

/** segment-anything `MLP`: Linear layers with ReLU between them (no sigmoid in SAM's heads). */
function mlp(layers: Dense[], x: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    layers.reduce((h, [w, b], i) => (i < layers.length - 1 ? tf.relu(linear(h, w, b)) : linear(h, w, b)), x),
  );
}

export class SamMaskDecoder {
  readonly config: SamMaskDecoderConfig;
  readonly transformer: SamTwoWayTransformer;
  private readonly outputTokens: tf.Tensor2D;
  /** The two transposed convolutions as [Cin, 2·2·Cout] matrices and biases (see upsample2x). */
  private readonly upscale: { conv1: Dense; ln: [tf.Tensor1D, tf.Tensor1D]; conv2: Dense };
  private readonly hypernetworks: Dense[][];
  private readonly iouHead: Dense[];

  /** Owns `outputTokens` (the concatenated IoU and mask tokens) and the upscaling matrices. */
  constructor(config: SamMaskDecoderConfig, weights: Map<string, tf.Tensor>) {
    this.config = config;
    const get = (name: string) => weights.get(`mask_decoder.${name}`)!;
    const dense = (name: string): Dense => [get(`${name}.weight`) as tf.Tensor2D, get(`${name}.bias`) as tf.Tensor1D];
    this.transformer = new SamTwoWayTransformer(config, weights);
    this.outputTokens = tf.concat([get('iou_token.weight'), get('mask_tokens.weight')], 0) as tf.Tensor2D;
    // filter [kh, kw, Cout, Cin] → [Cin, kh·kw·Cout]; the bias repeats for each of the 2×2 cells
    const upscaleDense = (name: string): Dense =>
      tf.tidy(() => {
        const f = get(`${name}.weight`) as tf.Tensor4D;
        return [
          tf.transpose(f, [3, 0, 1, 2]).reshape([f.shape[3], -1]) as tf.Tensor2D,
          tf.tile(get(`${name}.bias`), [4]) as tf.Tensor1D,
        ];
      });
    this.upscale = {
      conv1: upscaleDense('output_upscaling.0'),
      ln: [get('output_upscaling.1.weight') as tf.Tensor1D, get('output_upscaling.1.bias') as tf.Tensor1D],
      conv2: upscaleDense('output_upscaling.3'),
    };
    const numMaskTokens = config.numMultimaskOutputs + 1;
    this.hypernetworks = Array.from({ length: numMaskTokens }, (_, i) =>
      [0, 1, 2].map((l) => dense(`output_hypernetworks_mlps.${i}.layers.${l}`)),
    );
    this.iouHead = Array.from({ length: config.iouHeadDepth }, (_, l) => dense(`iou_prediction_head.layers.${l}`));
  }

  /**
   * ConvTranspose2d k=2, s=2: [B, h, w, Cin] → [B, 2h, 2w, Cout]. The 2×2 output cells do not overlap,
   * so it is one matMul to [B, h, w, 2, 2, Cout] and a depth-to-space transpose (much faster than
   * tfjs's conv2dTranspose, which walks the filter per output pixel).
   */
  private upsample2x(x: tf.Tensor4D, [matrix, bias]: Dense): tf.Tensor4D {
    const [b, h, w] = x.shape;
    const cout = matrix.shape[1] / 4;
    const cells = linear(x, matrix, bias).reshape([b, h, w, 2, 2, cout]);
    return tf.transpose(cells, [0, 1, 3, 2, 4, 5]).reshape([b, 2 * h, 2 * w, cout]) as tf.Tensor4D;
  }

  /**
   * imageEmbeddings / imagePe [1, h, w, C] (one image, shared by the B prompts), sparse [B, T, C],
   * dense [B or 1, h, w, C].
   */
  forward(
    imageEmbeddings: tf.Tensor4D,
    imagePe: tf.Tensor4D,
    sparse: tf.Tensor3D,
    dense: tf.Tensor4D,
    multimaskOutput: boolean,
  ): SamDecoderOutput {
    const [, h, w, C] = imageEmbeddings.shape;
    const batch = sparse.shape[0];
    const numMaskTokens = this.config.numMultimaskOutputs + 1;
    const { tokens, src, pe } = tf.tidy(() => ({
      tokens: tf.concat([tf.tile(this.outputTokens.expandDims(0), [batch, 1, 1]), sparse], 1) as tf.Tensor3D,
      // upstream repeats the image embedding per prompt (repeat_interleave); without mask prompts every
      // copy is the same, so it stays one [1, N, C] until the first layer's image-to-token update
      src: tf.add(imageEmbeddings, dense).reshape([dense.shape[0], h * w, C]) as tf.Tensor3D,
      pe: imagePe.reshape([1, h * w, C]) as tf.Tensor3D,
    }));
    const { queries, keys } = this.transformer.forward(src, pe, tokens);
    tf.dispose([tokens, src, pe]);
    const out = tf.tidy(() => {
      const eps = this.config.layerNormEps;
      let up = this.upsample2x(keys.reshape([batch, h, w, C]), this.upscale.conv1);
      up = geluInference(layerNorm(up, this.upscale.ln[0], this.upscale.ln[1], eps));
      up = geluInference(this.upsample2x(up, this.upscale.conv2));
      const [, H, W, c8] = up.shape;
      const hyper = tf.stack(
        this.hypernetworks.map((layers, i) =>
          mlp(layers, queries.slice([0, 1 + i, 0], [batch, 1, C]).reshape([batch, C])),
        ),
        1,
      ) as tf.Tensor3D;
      const masks = tf
        .matMul(hyper, up.reshape([batch, H * W, c8]), false, true)
        .reshape([batch, numMaskTokens, H, W]) as tf.Tensor4D;
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
    tf.dispose([this.outputTokens, ...this.upscale.conv1, ...this.upscale.conv2]);
  }
}

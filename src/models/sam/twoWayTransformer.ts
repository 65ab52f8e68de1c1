/**
 * SAM's two-way transformer (segment-anything `TwoWayTransformer`): tokens attend to themselves and
 * to the image, the image attends back to the tokens; a final token→image attention.
 */
import * as tf from '@tensorflow/tfjs';
import { attention, layerNorm, linear, mergeHeads, splitHeads } from '../ops/nn';
import type { SamMaskDecoderConfig } from './config';

type Dense = [tf.Tensor2D, tf.Tensor1D];

interface AttentionParams {
  q: Dense;
  k: Dense;
  v: Dense;
  out: Dense;
  heads: number;
}

interface LayerParams {
  selfAttn: AttentionParams;
  crossTokenToImage: AttentionParams;
  crossImageToToken: AttentionParams;
  norms: [tf.Tensor1D, tf.Tensor1D][];
  mlp: { lin1: Dense; lin2: Dense };
}

/**
 * segment-anything `Attention`: projections to an internal width (downsampled for cross-attention), heads, output projection.
 * An input with batch 1 is shared by all prompts: it is projected once, then repeated.
 */
function multiHeadAttention(p: AttentionParams, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const batch = Math.max(q.shape[0], k.shape[0], v.shape[0]);
    const project = (x: tf.Tensor3D, [weight, bias]: Dense) => {
      const heads = splitHeads(linear(x, weight, bias), p.heads);
      return heads.shape[0] === batch ? heads : tf.tile(heads, [batch, 1, 1, 1]);
    };
    const qh = project(q, p.q);
    const kh = project(k, p.k);
    const vh = project(v, p.v);
    const out = mergeHeads(attention(qh, kh, vh, qh.shape[3] ** -0.5));
    return linear(out, p.out[0], p.out[1]);
  });
}

export class SamTwoWayTransformer {
  readonly config: SamMaskDecoderConfig;
  private readonly layers: LayerParams[];
  private readonly finalAttn: AttentionParams;
  private readonly finalNorm: [tf.Tensor1D, tf.Tensor1D];

  constructor(config: SamMaskDecoderConfig, weights: Map<string, tf.Tensor>) {
    this.config = config;
    const get = (name: string) => weights.get(`mask_decoder.transformer.${name}`)!;
    const pair = (name: string): Dense => [get(`${name}.weight`) as tf.Tensor2D, get(`${name}.bias`) as tf.Tensor1D];
    const vectors = (name: string): [tf.Tensor1D, tf.Tensor1D] => [
      get(`${name}.weight`) as tf.Tensor1D,
      get(`${name}.bias`) as tf.Tensor1D,
    ];
    const attn = (prefix: string): AttentionParams => ({
      q: pair(`${prefix}.q_proj`),
      k: pair(`${prefix}.k_proj`),
      v: pair(`${prefix}.v_proj`),
      out: pair(`${prefix}.out_proj`),
      heads: config.numHeads,
    });
    this.layers = Array.from({ length: config.depth }, (_, i) => {
      const l = `layers.${i}`;
      return {
        selfAttn: attn(`${l}.self_attn`),
        crossTokenToImage: attn(`${l}.cross_attn_token_to_image`),
        crossImageToToken: attn(`${l}.cross_attn_image_to_token`),
        norms: [1, 2, 3, 4].map((n) => vectors(`${l}.norm${n}`)),
        mlp: { lin1: pair(`${l}.mlp.lin1`), lin2: pair(`${l}.mlp.lin2`) },
      };
    });
    this.finalAttn = attn('final_attn_token_to_image');
    this.finalNorm = vectors('norm_final_attn');
  }

  /**
   * imageEmbedding [B or 1, N, C] (flattened grid; 1 = shared by every prompt), imagePe [1 or B, N, C],
   * pointEmbedding [B, T, C].
   * Returns the processed tokens [B, T, C] and image features [B, N, C]. Each layer runs in its own
   * tidy so that only the running queries and keys outlive it (keys are [B, 4096, 256] at full size).
   */
  forward(
    imageEmbedding: tf.Tensor3D,
    imagePe: tf.Tensor3D,
    pointEmbedding: tf.Tensor3D,
  ): { queries: tf.Tensor3D; keys: tf.Tensor3D } {
    const eps = this.config.transformerLayerNormEps;
    const norm = (x: tf.Tensor, n: [tf.Tensor1D, tf.Tensor1D]) => layerNorm(x as tf.Tensor3D, n[0], n[1], eps);
    let queries = pointEmbedding;
    let keys = imageEmbedding;
    this.layers.forEach((layer, i) => {
      const next = tf.tidy(() => {
        let qs: tf.Tensor3D;
        if (i === 0) {
          // the first layer's self-attention has no PE and no residual: it replaces the queries
          qs = multiHeadAttention(layer.selfAttn, queries, queries, queries);
        } else {
          const q = tf.add(queries, pointEmbedding) as tf.Tensor3D;
          qs = tf.add(queries, multiHeadAttention(layer.selfAttn, q, q, queries)) as tf.Tensor3D;
        }
        qs = norm(qs, layer.norms[0]);
        const keysWithPe = tf.add(keys, imagePe) as tf.Tensor3D;
        qs = norm(
          tf.add(
            qs,
            multiHeadAttention(layer.crossTokenToImage, tf.add(qs, pointEmbedding) as tf.Tensor3D, keysWithPe, keys),
          ),
          layer.norms[1],
        );
        const hidden = tf.relu(linear(qs, layer.mlp.lin1[0], layer.mlp.lin1[1]));
        qs = norm(tf.add(qs, linear(hidden, layer.mlp.lin2[0], layer.mlp.lin2[1])), layer.norms[2]);
        const ks = norm(
          tf.add(
            keys,
            multiHeadAttention(layer.crossImageToToken, keysWithPe, tf.add(qs, pointEmbedding) as tf.Tensor3D, qs),
          ),
          layer.norms[3],
        );
        return { qs, ks };
      });
      if (queries !== pointEmbedding) queries.dispose();
      if (keys !== imageEmbedding) keys.dispose();
      queries = next.qs;
      keys = next.ks;
    });
    const finalQueries = tf.tidy(() => {
      const q = tf.add(queries, pointEmbedding) as tf.Tensor3D;
      const k = tf.add(keys, imagePe) as tf.Tensor3D;
      return norm(tf.add(queries, multiHeadAttention(this.finalAttn, q, k, keys)), this.finalNorm);
    });
    if (queries !== pointEmbedding) queries.dispose();
    if (keys === imageEmbedding) keys = keys.clone();
    return { queries: finalQueries, keys };
  }
}

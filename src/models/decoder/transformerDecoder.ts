/**
 * Mask2Former's multi-scale masked transformer decoder (method-spec §2.3): learned queries attend
 * to one feature level per layer (s32, s16, s8, repeated), masked by the previous prediction
 * (σ < 0.5 blocked; a fully blocked row is unblocked), then self-attention, then FFN — each with
 * residual and post-LayerNorm. The shared prediction head runs on the initial queries and after
 * every layer (its class half once over all layers' outputs).
 */
import * as tf from '@tensorflow/tfjs';
import { detach } from '../ops/gradients';
import { attention, layerNorm, linear, mergeHeads, splitHeads } from '../ops/nn';
import { resizePlanes } from '../ops/resize';
import { tidyAll } from '../ops/scope';
import { classLogits, declareClassHeadParams, type TextClassifier } from './classHead';
import { NUM_LEVELS, type DecoderConfig } from './config';
import { addLinear, addNorm, torchLinear, XAVIER, ZEROS, type ParamStore, type ParamTable } from './params';
import { sinePosition } from './positionEncoding';

export interface DecoderPrediction {
  /** [B, Q, C+1], void last. */
  classLogits: tf.Tensor3D;
  /** [B, Q, H/4, W/4] */
  maskLogits: tf.Tensor4D;
}

/** Additive attention bias: −1e9 where blocked. */
const BLOCKED = -1e9;

function multiHeadAttention(
  ps: ParamStore,
  p: string,
  heads: number,
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  bias?: tf.Tensor,
): tf.Tensor3D {
  const lin = (n: string, x: tf.Tensor) =>
    linear(x, ps.get(`${p}.${n}.weight`) as tf.Tensor2D, ps.get(`${p}.${n}.bias`));
  const hd = query.shape[2] / heads;
  const out = attention(
    splitHeads(lin('q', query), heads),
    splitHeads(lin('k', key), heads),
    splitHeads(lin('v', value), heads),
    1 / Math.sqrt(hd),
    bias,
  );
  return lin('out', mergeHeads(out)) as tf.Tensor3D;
}

const norm = (ps: ParamStore, p: string, x: tf.Tensor): tf.Tensor3D =>
  layerNorm(x, ps.get(`${p}.weight`), ps.get(`${p}.bias`), 1e-5) as tf.Tensor3D;

function mlp3(ps: ParamStore, p: string, x: tf.Tensor): tf.Tensor {
  let y = x;
  for (let i = 0; i < 3; i++) {
    y = linear(y, ps.get(`${p}.${i}.weight`) as tf.Tensor2D, ps.get(`${p}.${i}.bias`));
    if (i < 2) y = tf.relu(y);
  }
  return y;
}

/** Masked-attention bias for the next layer from detached mask logits: [B, 1, Q, H_l·W_l]. */
export function maskedAttentionBias(maskLogits: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, q] = maskLogits.shape;
    const resized = tf.reshape(resizePlanes(detach(maskLogits), height, width), [b, q, height * width]);
    const blocked = tf.less(tf.sigmoid(resized), 0.5);
    const rowFullyBlocked = tf.equal(tf.sum(tf.cast(blocked, 'int32'), -1, true), height * width);
    const keepBlocked = tf.logicalAnd(blocked, tf.logicalNot(rowFullyBlocked));
    return tf.reshape(tf.mul(tf.cast(keepBlocked, 'float32'), BLOCKED), [b, 1, q, height * width]) as tf.Tensor4D;
  });
}

/**
 * multiScale: [s32, s16, s8] NHWC with hiddenDim channels; maskFeatures [B, H4, W4, maskDim].
 * Returns decoderLayers + 1 predictions, the last one the final output.
 */
export function transformerDecoder(
  ps: ParamStore,
  c: DecoderConfig,
  multiScale: tf.Tensor4D[],
  maskFeatures: tf.Tensor4D,
  classifier: TextClassifier,
): DecoderPrediction[] {
  return tidyAll(() => {
    const b = maskFeatures.shape[0];
    const [h4, w4, md] = maskFeatures.shape.slice(1);
    const hd = c.hiddenDim;
    const levelEmbed = tf.split(ps.get('decoder.level_embed'), NUM_LEVELS, 0);
    const sizes = multiScale.map((t) => [t.shape[1], t.shape[2]] as [number, number]);
    const memory = multiScale.map((t, l) => tf.add(tf.reshape(t, [b, -1, hd]), levelEmbed[l]) as tf.Tensor3D);
    const memoryWithPos = memory.map(
      (m, l) => tf.add(m, sinePosition(sizes[l][0], sizes[l][1], hd / 2)) as tf.Tensor3D,
    );
    const queryPos = ps.get('decoder.query_embed');
    const flatMaskFeatures = tf.reshape(maskFeatures, [b, h4 * w4, md]);

    // The mask head runs after every layer (the next layer's attention mask needs it); the class head,
    // row by row the same function, runs once on all layers' outputs stacked (fewer, larger kernels).
    const normedOutputs: tf.Tensor3D[] = [];
    const maskLogits: tf.Tensor4D[] = [];
    const predictMasks = (output: tf.Tensor3D) => {
      const normed = norm(ps, 'decoder.decoder_norm', output);
      normedOutputs.push(normed);
      const maskEmbed = mlp3(ps, 'decoder.mask_embed', normed);
      maskLogits.push(
        tf.reshape(tf.matMul(maskEmbed, flatMaskFeatures, false, true), [b, c.numQueries, h4, w4]) as tf.Tensor4D,
      );
    };

    let output = tf.tile(tf.expandDims(ps.get('decoder.query_feat'), 0), [b, 1, 1]) as tf.Tensor3D;
    predictMasks(output);
    for (let i = 0; i < c.decoderLayers; i++) {
      const level = i % NUM_LEVELS;
      const p = `decoder.layers.${i}`;
      const bias = maskedAttentionBias(maskLogits[i], sizes[level][0], sizes[level][1]);
      const withPos = tf.add(output, queryPos) as tf.Tensor3D;
      output = norm(
        ps,
        `${p}.cross_attn.norm`,
        tf.add(
          output,
          multiHeadAttention(ps, `${p}.cross_attn`, c.heads, withPos, memoryWithPos[level], memory[level], bias),
        ),
      );
      const selfQ = tf.add(output, queryPos) as tf.Tensor3D;
      output = norm(
        ps,
        `${p}.self_attn.norm`,
        tf.add(output, multiHeadAttention(ps, `${p}.self_attn`, c.heads, selfQ, selfQ, output)),
      );
      const ffn = linear(
        tf.relu(linear(output, ps.get(`${p}.ffn.linear1.weight`) as tf.Tensor2D, ps.get(`${p}.ffn.linear1.bias`))),
        ps.get(`${p}.ffn.linear2.weight`) as tf.Tensor2D,
        ps.get(`${p}.ffn.linear2.bias`),
      );
      output = norm(ps, `${p}.ffn.norm`, tf.add(output, ffn));
      predictMasks(output);
    }
    const embed = mlp3(ps, 'decoder.class_embed', tf.concat(normedOutputs, 0)) as tf.Tensor3D;
    const logits = classLogits(
      embed,
      classifier,
      ps.get('decoder.logit_scale'),
      ps.get('decoder.void_embedding') as tf.Tensor2D,
    );
    return tf
      .split(logits, normedOutputs.length, 0)
      .map((layerLogits, i) => ({ classLogits: layerLogits as tf.Tensor3D, maskLogits: maskLogits[i] }));
  });
}

/** The transformer decoder's parameters: queries, layers, final norm, mask MLP, then the class head. */
export function declareTransformerDecoderParams(t: ParamTable, c: DecoderConfig): void {
  const h = c.hiddenDim;
  t.set('decoder.query_feat', { shape: [c.numQueries, h], init: { kind: 'normal', std: 1 }, decay: false });
  t.set('decoder.query_embed', { shape: [c.numQueries, h], init: { kind: 'normal', std: 1 }, decay: false });
  t.set('decoder.level_embed', { shape: [NUM_LEVELS, h], init: { kind: 'normal', std: 1 }, decay: false });
  for (let i = 0; i < c.decoderLayers; i++) {
    const p = `decoder.layers.${i}`;
    for (const attn of ['cross_attn', 'self_attn']) {
      for (const proj of ['q', 'k', 'v', 'out']) addLinear(t, `${p}.${attn}.${proj}`, h, h, XAVIER, ZEROS);
      addNorm(t, `${p}.${attn}.norm`, h);
    }
    addLinear(t, `${p}.ffn.linear1`, h, c.ffnDim, XAVIER, torchLinear(h));
    addLinear(t, `${p}.ffn.linear2`, c.ffnDim, h, XAVIER, torchLinear(c.ffnDim));
    addNorm(t, `${p}.ffn.norm`, h);
  }
  addNorm(t, 'decoder.decoder_norm', h);
  for (let i = 0; i < 3; i++)
    addLinear(t, `decoder.mask_embed.${i}`, h, i === 2 ? c.maskDim : h, torchLinear(h), torchLinear(h));
  declareClassHeadParams(t, c);
}

/**
 * The decoder's parameters under the upstream Mask2Former / DEARLi `state_dict` names and layouts, so
 * an exported `model.safetensors` opens in PyTorch and loads into the upstream model with
 * `strict=False` (the frozen CLIP backbone is not part of it).
 *
 * Upstream modules (DEARLi @ 1de0dc8):
 * - `sem_seg_head.pixel_decoder`: MSDeformAttnPixelDecoder (`mask2former/modeling/pixel_decoder/
 *   msdeformattn.py`): `input_proj.{l}` = Sequential(Conv2d 1×1, GroupNorm), `transformer.level_embed`,
 *   `transformer.encoder.layers.{i}` (MSDeformAttn `self_attn`, `norm1`, `linear1`, `linear2`,
 *   `norm2`), `adapter_1` / `layer_1` (detectron2 Conv2d with GroupNorm `norm`, no bias), `mask_features`.
 *   The lab's plain-FPN decoder maps onto BasePixelDecoder (`fpn.py`): `layer_4` on res5, then
 *   `adapter_{k}` / `layer_{k}` for res4..res2.
 * - `sem_seg_head.predictor`: the vision-language Mask2Former decoder
 *   (`vision_language_mask2former_transformer_decoder.py`): nn.MultiheadAttention packs q, k, v
 *   into `in_proj_weight` [3h, h]; `class_embed` is an MLP into CLIP space; `logit_scale`.
 * - `void_embedding`: the model-level nn.Embedding(1, D) of the void class.
 */
import type { DecoderConfig } from './config';
import type { ParamTable } from './params';
import { tfjsToTorch, torchToTfjs, type TorchLayout } from '../weights/layout';

/**
 * How one lab tensor sits in its upstream tensor. 'linear': lab [in, out] ↔ torch [out, in];
 * 'conv1x1': lab [in, out] ↔ torch Conv2d [out, in, 1, 1]; 'conv': lab HWIO ↔ torch OIHW;
 * 'asIs': same layout (norms, embeddings, scalars).
 */
export type UpstreamLayout = 'linear' | 'conv1x1' | 'conv' | 'asIs';

export interface UpstreamTensor {
  name: string;
  /** Torch shape. */
  shape: number[];
  layout: UpstreamLayout;
  /** Lab parameters stacked along the first torch axis, in order (q, k, v for in_proj; one otherwise). */
  parts: string[];
}

const PIXEL = 'sem_seg_head.pixel_decoder';
const PREDICTOR = 'sem_seg_head.predictor';

function torchShape(labShape: number[], layout: UpstreamLayout): number[] {
  switch (layout) {
    case 'linear':
      return [labShape[1], labShape[0]];
    case 'conv1x1':
      return [labShape[1], labShape[0], 1, 1];
    case 'conv':
      return [labShape[3], labShape[2], labShape[0], labShape[1]];
    case 'asIs':
      return [...labShape];
  }
}

/** The upstream tensors of a decoder, each listing the lab parameters it holds. */
export function upstreamTensors(config: DecoderConfig, table: ParamTable): UpstreamTensor[] {
  const out: UpstreamTensor[] = [];
  const shapeOf = (lab: string): number[] => {
    const spec = table.get(lab);
    if (!spec) throw new Error(`decoder parameter "${lab}" is not in the ${config.preset} preset`);
    return spec.shape;
  };
  const one = (name: string, lab: string, layout: UpstreamLayout): void => {
    out.push({ name, shape: torchShape(shapeOf(lab), layout), layout, parts: [lab] });
  };
  const norm = (upstream: string, lab: string): void => {
    one(`${upstream}.weight`, `${lab}.weight`, 'asIs');
    one(`${upstream}.bias`, `${lab}.bias`, 'asIs');
  };
  const linear = (upstream: string, lab: string, layout: UpstreamLayout = 'linear'): void => {
    one(`${upstream}.weight`, `${lab}.weight`, layout);
    if (table.has(`${lab}.bias`)) one(`${upstream}.bias`, `${lab}.bias`, 'asIs');
  };
  /** A detectron2 Conv2d with a norm: weight (no bias), then `norm.weight` / `norm.bias`. */
  const normedConv = (upstream: string, lab: string, layout: UpstreamLayout): void => {
    linear(upstream, lab, layout);
    norm(`${upstream}.norm`, `${lab}.norm`);
  };

  if (config.pixelDecoder === 'msdeform') {
    for (let l = 0; l < 3; l++) {
      linear(`${PIXEL}.input_proj.${l}.0`, `pixel.input_proj.${l}`, 'conv1x1');
      norm(`${PIXEL}.input_proj.${l}.1`, `pixel.input_proj.${l}.norm`);
    }
    one(`${PIXEL}.transformer.level_embed`, 'pixel.level_embed', 'asIs');
    for (let i = 0; i < config.encoderLayers; i++) {
      const up = `${PIXEL}.transformer.encoder.layers.${i}`;
      const lab = `pixel.encoder.${i}`;
      for (const proj of ['sampling_offsets', 'attention_weights', 'value_proj', 'output_proj']) {
        linear(`${up}.self_attn.${proj}`, `${lab}.attn.${proj}`);
      }
      norm(`${up}.norm1`, `${lab}.norm1`);
      linear(`${up}.linear1`, `${lab}.linear1`);
      linear(`${up}.linear2`, `${lab}.linear2`);
      norm(`${up}.norm2`, `${lab}.norm2`);
    }
    normedConv(`${PIXEL}.adapter_1`, 'pixel.lateral.0', 'conv1x1');
    normedConv(`${PIXEL}.layer_1`, 'pixel.output.0', 'conv');
  } else {
    normedConv(`${PIXEL}.layer_4`, 'pixel.fpn.top', 'conv');
    for (let l = 0; l < 3; l++) {
      normedConv(`${PIXEL}.adapter_${3 - l}`, `pixel.lateral.${l}`, 'conv1x1');
      normedConv(`${PIXEL}.layer_${3 - l}`, `pixel.output.${l}`, 'conv');
    }
  }
  linear(`${PIXEL}.mask_features`, 'pixel.mask_features', 'conv1x1');

  one(`${PREDICTOR}.query_feat.weight`, 'decoder.query_feat', 'asIs');
  one(`${PREDICTOR}.query_embed.weight`, 'decoder.query_embed', 'asIs');
  one(`${PREDICTOR}.level_embed.weight`, 'decoder.level_embed', 'asIs');
  for (let i = 0; i < config.decoderLayers; i++) {
    const lab = `decoder.layers.${i}`;
    const attention: [string, string, string][] = [
      ['self_attn', 'transformer_self_attention_layers', 'self_attn'],
      ['cross_attn', 'transformer_cross_attention_layers', 'multihead_attn'],
    ];
    for (const [labAttn, list, module] of attention) {
      const up = `${PREDICTOR}.${list}.${i}`;
      const h = shapeOf(`${lab}.${labAttn}.q.weight`)[0];
      const qkv = (suffix: string) => ['q', 'k', 'v'].map((p) => `${lab}.${labAttn}.${p}.${suffix}`);
      out.push({ name: `${up}.${module}.in_proj_weight`, shape: [3 * h, h], layout: 'linear', parts: qkv('weight') });
      out.push({ name: `${up}.${module}.in_proj_bias`, shape: [3 * h], layout: 'asIs', parts: qkv('bias') });
      linear(`${up}.${module}.out_proj`, `${lab}.${labAttn}.out`);
      norm(`${up}.norm`, `${lab}.${labAttn}.norm`);
    }
    const ffn = `${PREDICTOR}.transformer_ffn_layers.${i}`;
    linear(`${ffn}.linear1`, `${lab}.ffn.linear1`);
    linear(`${ffn}.linear2`, `${lab}.ffn.linear2`);
    norm(`${ffn}.norm`, `${lab}.ffn.norm`);
  }
  norm(`${PREDICTOR}.decoder_norm`, 'decoder.decoder_norm');
  for (let i = 0; i < 3; i++) {
    linear(`${PREDICTOR}.mask_embed.layers.${i}`, `decoder.mask_embed.${i}`);
    linear(`${PREDICTOR}.class_embed.layers.${i}`, `decoder.class_embed.${i}`);
  }
  one(`${PREDICTOR}.logit_scale`, 'decoder.logit_scale', 'asIs');
  one('void_embedding.weight', 'decoder.void_embedding', 'asIs');
  return out;
}

/** The layout-module conversion of one lab tensor, and the torch shape it goes by (2-D for a 1×1 conv). */
function conversion(labShape: number[], layout: UpstreamLayout): { kind: TorchLayout; torch: number[] } {
  const torch = torchShape(labShape, layout);
  if (layout === 'conv1x1') return { kind: 'linear', torch: torch.slice(0, 2) };
  return { kind: layout === 'asIs' ? 'keep' : layout, torch };
}

/** Lab layout → torch layout, on the host. */
export function toTorchLayout(data: Float32Array, labShape: number[], layout: UpstreamLayout): Float32Array {
  const { kind, torch } = conversion(labShape, layout);
  return tfjsToTorch(kind, torch, data);
}

/** Torch layout → lab layout, on the host (the inverse of toTorchLayout). */
export function fromTorchLayout(data: Float32Array, labShape: number[], layout: UpstreamLayout): Float32Array {
  const { kind, torch } = conversion(labShape, layout);
  return torchToTfjs(kind, torch, data.slice()).data;
}

/**
 * SAM weights: one key mapping between the segment-anything `Sam.state_dict()` names (the lab's
 * canonical names) and the transformers `SamModel` names, a shape table derived from the config,
 * and the one-time conversion of torch layouts to tfjs ones:
 *   Conv2d [out, in, kh, kw] → HWIO [kh, kw, in, out]; ConvTranspose2d [in, out, kh, kw] → tfjs
 *   conv2dTranspose filter [kh, kw, out, in] (the same permutation 2,3,1,0); Linear [out, in] → [in, out].
 * Missing, unexpected and mis-shaped tensors are DearliErrors that name the tensor as the file spells it.
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../../core/errors';
import type { LoadedTensor } from '../weights/safetensors';
import type { TensorListing, TensorSource } from '../weights/tensorSource';
import type { SamConfig } from './config';
import { torchToTfjs, type TorchLayout } from '../weights/layout';

export type SamKeyNaming = 'segment-anything' | 'transformers';

/** Anything that lists tensors and reads them one at a time (a SafetensorsFile, a random-weight source). */

/**
 * [segment-anything fragment, transformers fragment], most specific first so that the generic
 * `.normN.` rule never sees a neck or mask-embedding LayerNorm. Used in both directions.
 */
const KEY_FRAGMENTS: [string, string][] = [
  ['image_encoder.blocks.', 'vision_encoder.layers.'],
  ['image_encoder.', 'vision_encoder.'],
  ['.patch_embed.proj.', '.patch_embed.projection.'],
  ['.neck.0.', '.neck.conv1.'],
  ['.neck.1.', '.neck.layer_norm1.'],
  ['.neck.2.', '.neck.conv2.'],
  ['.neck.3.', '.neck.layer_norm2.'],
  ['.pe_layer.positional_encoding_gaussian_matrix', '.shared_embedding.positional_embedding'],
  ['.point_embeddings.', '.point_embed.'],
  ['.mask_downscaling.0.', '.mask_embed.conv1.'],
  ['.mask_downscaling.1.', '.mask_embed.layer_norm1.'],
  ['.mask_downscaling.3.', '.mask_embed.conv2.'],
  ['.mask_downscaling.4.', '.mask_embed.layer_norm2.'],
  ['.mask_downscaling.6.', '.mask_embed.conv3.'],
  ['.output_upscaling.0.', '.upscale_conv1.'],
  ['.output_upscaling.1.', '.upscale_layer_norm.'],
  ['.output_upscaling.3.', '.upscale_conv2.'],
  ['.norm_final_attn.', '.layer_norm_final_attn.'],
  ['.norm1.', '.layer_norm1.'],
  ['.norm2.', '.layer_norm2.'],
  ['.norm3.', '.layer_norm3.'],
  ['.norm4.', '.layer_norm4.'],
];

/** transformers stores the Gaussian PE matrix a second time under this (tied) name. */
const HF_TIED_PE = 'shared_image_embedding.positional_embedding';
const PE_MATRIX = 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix';

/** The decoder MLPs: segment-anything `layers.{0..n-1}` ↔ transformers `proj_in`, `layers.{0..n-3}`, `proj_out`. */
const MLP_KEY =
  /^(mask_decoder\.(?:iou_prediction_head|output_hypernetworks_mlps\.\d+))\.(layers\.\d+|proj_in|proj_out)\.(.+)$/;

function mlpDepthOf(prefix: string, config: SamConfig): number {
  return prefix.endsWith('iou_prediction_head') ? config.maskDecoder.iouHeadDepth : 3;
}

export function originalToHfKey(name: string, config: SamConfig): string {
  const m = MLP_KEY.exec(name);
  if (m) {
    const i = Number(m[2].slice('layers.'.length));
    const last = mlpDepthOf(m[1], config) - 1;
    const layer = i === 0 ? 'proj_in' : i === last ? 'proj_out' : `layers.${i - 1}`;
    return `${m[1]}.${layer}.${m[3]}`;
  }
  let out = name;
  for (const [orig, hf] of KEY_FRAGMENTS) out = out.replace(orig, hf);
  return out;
}

export function hfToOriginalKey(name: string, config: SamConfig): string {
  if (name === HF_TIED_PE) return PE_MATRIX;
  const m = MLP_KEY.exec(name);
  if (m) {
    const last = mlpDepthOf(m[1], config) - 1;
    const i = m[2] === 'proj_in' ? 0 : m[2] === 'proj_out' ? last : Number(m[2].slice('layers.'.length)) + 1;
    return `${m[1]}.layers.${i}.${m[3]}`;
  }
  let out = name;
  for (const [orig, hf] of KEY_FRAGMENTS) out = out.replace(hf, orig);
  return out;
}

function detectSamKeyNaming(names: readonly string[], fileName: string): SamKeyNaming {
  if (names.some((n) => n.startsWith('vision_encoder.'))) return 'transformers';
  if (names.some((n) => n.startsWith('image_encoder.'))) return 'segment-anything';
  throw new DearliError(
    'weights-format',
    'no tensor starts with "image_encoder." (segment-anything) or "vision_encoder." (transformers SamModel)',
    'Choose a SAM checkpoint in safetensors format (e.g. facebook/sam-vit-base or Zigeng/SlimSAM-uniform-77 model.safetensors).',
    fileName,
  );
}

/** Attention and MLP widths of one ViT block (equal to embedDim / mlpDim except in pruned checkpoints). */
export interface SamBlockDims {
  attnDim: number;
  mlpDim: number;
}

/** Expected torch-layout shapes under segment-anything names; `-1` = any length (rel-pos tables get interpolated). */
export function samParameterShapes(config: SamConfig, blockDims: SamBlockDims[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const e = config.imageEncoder;
  const grid = e.imgSize / e.patchSize;
  const E = e.embedDim;
  if (e.useAbsPos) shapes.set('image_encoder.pos_embed', [1, grid, grid, E]);
  shapes.set('image_encoder.patch_embed.proj.weight', [E, e.inChans, e.patchSize, e.patchSize]);
  shapes.set('image_encoder.patch_embed.proj.bias', [E]);
  for (let i = 0; i < e.depth; i++) {
    const b = `image_encoder.blocks.${i}.`;
    const { attnDim: a, mlpDim: m } = blockDims[i];
    shapes.set(`${b}norm1.weight`, [E]).set(`${b}norm1.bias`, [E]);
    shapes.set(`${b}attn.qkv.weight`, [3 * a, E]);
    if (e.qkvBias) shapes.set(`${b}attn.qkv.bias`, [3 * a]);
    shapes.set(`${b}attn.proj.weight`, [E, a]).set(`${b}attn.proj.bias`, [E]);
    if (e.useRelPos)
      shapes.set(`${b}attn.rel_pos_h`, [-1, a / e.numHeads]).set(`${b}attn.rel_pos_w`, [-1, a / e.numHeads]);
    shapes.set(`${b}norm2.weight`, [E]).set(`${b}norm2.bias`, [E]);
    shapes.set(`${b}mlp.lin1.weight`, [m, E]).set(`${b}mlp.lin1.bias`, [m]);
    shapes.set(`${b}mlp.lin2.weight`, [E, m]).set(`${b}mlp.lin2.bias`, [E]);
  }
  const O = e.outChans;
  shapes.set('image_encoder.neck.0.weight', [O, E, 1, 1]);
  shapes.set('image_encoder.neck.1.weight', [O]).set('image_encoder.neck.1.bias', [O]);
  shapes.set('image_encoder.neck.2.weight', [O, O, 3, 3]);
  shapes.set('image_encoder.neck.3.weight', [O]).set('image_encoder.neck.3.bias', [O]);

  const p = config.promptEncoder;
  const C = p.embedDim;
  const mc = p.maskInChans;
  shapes.set(PE_MATRIX, [2, C / 2]);
  for (let i = 0; i < 4; i++) shapes.set(`prompt_encoder.point_embeddings.${i}.weight`, [1, C]);
  shapes.set('prompt_encoder.not_a_point_embed.weight', [1, C]).set('prompt_encoder.no_mask_embed.weight', [1, C]);
  const md = 'prompt_encoder.mask_downscaling.';
  shapes.set(`${md}0.weight`, [mc / 4, 1, 2, 2]).set(`${md}0.bias`, [mc / 4]);
  shapes.set(`${md}1.weight`, [mc / 4]).set(`${md}1.bias`, [mc / 4]);
  shapes.set(`${md}3.weight`, [mc, mc / 4, 2, 2]).set(`${md}3.bias`, [mc]);
  shapes.set(`${md}4.weight`, [mc]).set(`${md}4.bias`, [mc]);
  shapes.set(`${md}6.weight`, [C, mc, 1, 1]).set(`${md}6.bias`, [C]);

  const d = config.maskDecoder;
  const D = d.transformerDim;
  const cross = D / d.attentionDownsampleRate;
  const attention = (prefix: string, inner: number) => {
    for (const proj of ['q_proj', 'k_proj', 'v_proj'])
      shapes.set(`${prefix}.${proj}.weight`, [inner, D]).set(`${prefix}.${proj}.bias`, [inner]);
    shapes.set(`${prefix}.out_proj.weight`, [D, inner]).set(`${prefix}.out_proj.bias`, [D]);
  };
  for (let i = 0; i < d.depth; i++) {
    const l = `mask_decoder.transformer.layers.${i}.`;
    attention(`${l}self_attn`, D);
    attention(`${l}cross_attn_token_to_image`, cross);
    attention(`${l}cross_attn_image_to_token`, cross);
    for (let n = 1; n <= 4; n++) shapes.set(`${l}norm${n}.weight`, [D]).set(`${l}norm${n}.bias`, [D]);
    shapes.set(`${l}mlp.lin1.weight`, [d.mlpDim, D]).set(`${l}mlp.lin1.bias`, [d.mlpDim]);
    shapes.set(`${l}mlp.lin2.weight`, [D, d.mlpDim]).set(`${l}mlp.lin2.bias`, [D]);
  }
  attention('mask_decoder.transformer.final_attn_token_to_image', cross);
  shapes
    .set('mask_decoder.transformer.norm_final_attn.weight', [D])
    .set('mask_decoder.transformer.norm_final_attn.bias', [D]);
  const numMaskTokens = d.numMultimaskOutputs + 1;
  shapes.set('mask_decoder.iou_token.weight', [1, D]).set('mask_decoder.mask_tokens.weight', [numMaskTokens, D]);
  shapes
    .set('mask_decoder.output_upscaling.0.weight', [D, D / 4, 2, 2])
    .set('mask_decoder.output_upscaling.0.bias', [D / 4]);
  shapes.set('mask_decoder.output_upscaling.1.weight', [D / 4]).set('mask_decoder.output_upscaling.1.bias', [D / 4]);
  shapes
    .set('mask_decoder.output_upscaling.3.weight', [D / 4, D / 8, 2, 2])
    .set('mask_decoder.output_upscaling.3.bias', [D / 8]);
  const mlp = (prefix: string, dims: number[]) => {
    for (let i = 0; i + 1 < dims.length; i++) {
      shapes
        .set(`${prefix}.layers.${i}.weight`, [dims[i + 1], dims[i]])
        .set(`${prefix}.layers.${i}.bias`, [dims[i + 1]]);
    }
  };
  for (let i = 0; i < numMaskTokens; i++) mlp(`mask_decoder.output_hypernetworks_mlps.${i}`, [D, D, D, D / 8]);
  const iouDims = [D, ...Array<number>(d.iouHeadDepth - 1).fill(d.iouHeadHiddenDim), numMaskTokens];
  mlp('mask_decoder.iou_prediction_head', iouDims);
  return shapes;
}

/** nn.Embedding tables and raw parameters keep their layout; only Linear weights are transposed. */
function isLinearWeight(name: string): boolean {
  return (
    name.endsWith('.weight') &&
    !/(point_embeddings\.\d|not_a_point_embed|no_mask_embed|iou_token|mask_tokens)\.weight$/.test(name)
  );
}

/** The layout of one torch tensor (canonical name): convolution and Linear weights move, the rest stays. */
function torchLayout(name: string, shape: readonly number[]): TorchLayout {
  if (shape.length === 4 && name.endsWith('.weight')) return 'conv';
  if (shape.length === 2 && isLinearWeight(name)) return 'linear';
  return 'keep';
}

export interface SamWeights {
  naming: SamKeyNaming;
  blockDims: SamBlockDims[];
  /** tfjs-layout tensors under segment-anything names. */
  tensors: Map<string, tf.Tensor>;
}

export function disposeSamWeights(weights: SamWeights): void {
  for (const t of weights.tensors.values()) t.dispose();
  weights.tensors.clear();
}

function shapeText(s: readonly number[]): string {
  return `[${s.map((d) => (d < 0 ? '*' : d)).join(', ')}]`;
}

/** Reads per-block widths from the qkv and lin1 shapes, or takes them from the config. */
function blockDimsOf(config: SamConfig, fileShapes: Map<string, number[]>): SamBlockDims[] {
  const e = config.imageEncoder;
  return Array.from({ length: e.depth }, (_, i) => {
    if (!e.blockDimsFromWeights) return { attnDim: e.embedDim, mlpDim: e.mlpDim };
    const qkv = fileShapes.get(`image_encoder.blocks.${i}.attn.qkv.weight`);
    const lin1 = fileShapes.get(`image_encoder.blocks.${i}.mlp.lin1.weight`);
    const attnDim = qkv && qkv[0] % (3 * e.numHeads) === 0 ? qkv[0] / 3 : e.embedDim;
    return { attnDim, mlpDim: lin1 ? lin1[0] : e.mlpDim };
  });
}

/** What a checkpoint holds, checked against the config before anything is read. */
export interface SamWeightPlan {
  naming: SamKeyNaming;
  blockDims: SamBlockDims[];
  /** canonical (segment-anything) name → expected torch-layout shape, in load order. */
  expected: Map<string, number[]>;
  /** canonical name → the name the file spells (the first spelling wins for the tied PE matrix). */
  fileNameOf: Map<string, string>;
}

/**
 * Checks the names and shapes `source` lists against the config (both key namings accepted) without
 * reading any tensor: missing, unexpected and mis-shaped tensors are DearliErrors naming the tensor
 * as the file spells it.
 */
export function planSamWeights(source: TensorListing, config: SamConfig): SamWeightPlan {
  const file = source.fileName;
  const naming = detectSamKeyNaming(source.names, file);
  const toCanonical = naming === 'transformers' ? (n: string) => hfToOriginalKey(n, config) : (n: string) => n;
  const toFileName = naming === 'transformers' ? (n: string) => originalToHfKey(n, config) : (n: string) => n;
  const fileNameOf = new Map<string, string>();
  const fileShapes = new Map<string, number[]>();
  for (const n of source.names) {
    const canonical = toCanonical(n);
    if (fileNameOf.has(canonical)) continue;
    fileNameOf.set(canonical, n);
    fileShapes.set(canonical, [...source.shape(n)]);
  }
  const blockDims = blockDimsOf(config, fileShapes);
  const expected = samParameterShapes(config, blockDims);
  const missing = [...expected.keys()].filter((k) => !fileNameOf.has(k));
  if (missing.length) {
    throw new DearliError(
      'weights-missing',
      `tensor "${toFileName(missing[0])}" is missing${missing.length > 1 ? ` (and ${missing.length - 1} more, e.g. ${missing.slice(1, 4).map(toFileName).join(', ')})` : ''} for the ${config.name} architecture`,
      'Choose the checkpoint that belongs to the selected SAM model, or the model that matches this checkpoint.',
      file,
    );
  }
  const extra = [...fileNameOf.keys()].filter((k) => !expected.has(k));
  if (extra.length) {
    throw new DearliError(
      'weights-unexpected',
      `tensor "${fileNameOf.get(extra[0])}" is not part of the ${config.name} architecture${extra.length > 1 ? ` (${extra.length} such tensors)` : ''}`,
      'Choose the SAM model that matches this checkpoint.',
      file,
    );
  }
  for (const [canonical, want] of expected)
    checkShape(fileNameOf.get(canonical)!, fileShapes.get(canonical)!, want, file);
  return { naming, blockDims, expected, fileNameOf };
}

/**
 * Checks every tensor of `source` against the config (planSamWeights), then uploads them in tfjs
 * layout, one at a time (a ViT-H checkpoint never sits in memory twice).
 */
export async function loadSamWeights(source: TensorSource, config: SamConfig): Promise<SamWeights> {
  const file = source.fileName;
  const { naming, blockDims, expected, fileNameOf } = planSamWeights(source, config);
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const [canonical, want] of expected) {
      const n = fileNameOf.get(canonical)!;
      const loaded = await source.read(n);
      checkShape(n, loaded.shape, want, file);
      if (!(loaded.data instanceof Float32Array)) {
        throw new DearliError(
          'weights-format',
          `tensor "${n}" has dtype ${loaded.dtype}, expected a float type`,
          'Export the checkpoint with float weights.',
          file,
        );
      }
      const converted = torchToTfjs(torchLayout(canonical, loaded.shape), loaded.shape, loaded.data);
      tensors.set(canonical, tf.tensor(converted.data, converted.shape, 'float32'));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { naming, blockDims, tensors };
}

function checkShape(name: string, got: readonly number[], want: readonly number[], file: string): void {
  const ok = got.length === want.length && want.every((d, i) => d < 0 || d === got[i]) && got.every((d) => d > 0);
  if (!ok) {
    throw new DearliError(
      'weights-shape',
      `tensor "${name}" has shape [${got.join(', ')}], expected ${shapeText(want)}`,
      'The checkpoint does not match the selected SAM model: choose the matching model size.',
      file,
    );
  }
}

/**
 * Random weights with the right shapes (for benchmarks and tests without a checkpoint): N(0, 1/fan_in)
 * for weights, small biases, LayerNorm weights near 1. Named as segment-anything names them.
 */
export function randomSamTensorSource(config: SamConfig, seed = 1): TensorSource {
  const e = config.imageEncoder;
  const grid = e.imgSize / e.patchSize;
  const blockDims = Array.from({ length: e.depth }, () => ({ attnDim: e.embedDim, mlpDim: e.mlpDim }));
  const shapes = samParameterShapes(config, blockDims);
  for (let i = 0; i < e.depth; i++) {
    const size = e.globalAttnIndexes.includes(i) || e.windowSize <= 0 ? grid : e.windowSize;
    const hd = e.embedDim / e.numHeads;
    for (const axis of ['h', 'w'])
      if (shapes.has(`image_encoder.blocks.${i}.attn.rel_pos_${axis}`))
        shapes.set(`image_encoder.blocks.${i}.attn.rel_pos_${axis}`, [2 * size - 1, hd]);
  }
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  return {
    fileName: `random ${config.name} weights`,
    names: [...shapes.keys()],
    has: (name: string) => shapes.has(name),
    shape: (name: string) => shapes.get(name)!,
    async read(name: string): Promise<LoadedTensor> {
      const shape = shapes.get(name)!;
      const size = shape.reduce((a, b) => a * b, 1);
      const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      const isNormWeight = /norm\d?\.weight$|neck\.[13]\.weight$|downscaling\.[14]\.weight$|upscaling\.1\.weight$/.test(
        name,
      );
      const scale = name.endsWith('.bias') ? 0.1 : isNormWeight ? 0.2 : shape.length >= 2 ? Math.sqrt(3 / fanIn) : 0.5;
      const data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = (isNormWeight ? 1 : 0) + (2 * uniform() - 1) * scale;
      return { dtype: 'F32', shape, data };
    },
  };
}

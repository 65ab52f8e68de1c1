/**
 * Segment Anything architecture descriptions: the presets of the Hugging Face SamModel checkpoints
 * (ViT-B/L/H, SlimSAM-77) and readers for the reference-fixture config.json and a transformers
 * SamModel config.json. Every size the model code uses comes from here (or from the weights, where
 * a pruned checkpoint has its own per-block widths).
 */
import { DearliError } from '../../core/errors';

export interface SamImageEncoderConfig {
  imgSize: number;
  patchSize: number;
  inChans: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  /** Hidden width of the block MLPs (embedDim·mlp_ratio in segment-anything, `mlp_dim` in transformers). */
  mlpDim: number;
  outChans: number;
  qkvBias: boolean;
  useAbsPos: boolean;
  useRelPos: boolean;
  /** 0 = every block global. */
  windowSize: number;
  globalAttnIndexes: number[];
  layerNormEps: number;
  /**
   * Pruned checkpoints (SlimSAM) may give each block its own attention and MLP widths: take them from
   * the weights instead of checking them against embedDim/mlpDim.
   */
  blockDimsFromWeights: boolean;
}

export interface SamPromptEncoderConfig {
  embedDim: number;
  /** [h, w] of the image embedding grid. */
  imageEmbeddingSize: [number, number];
  /** [h, w] of the padded model input. */
  inputImageSize: [number, number];
  maskInChans: number;
  layerNormEps: number;
}

export interface SamMaskDecoderConfig {
  transformerDim: number;
  /** Two-way transformer layers. */
  depth: number;
  numHeads: number;
  mlpDim: number;
  attentionDownsampleRate: number;
  numMultimaskOutputs: number;
  iouHeadDepth: number;
  iouHeadHiddenDim: number;
  /** Two-way transformer LayerNorms: torch's default 1e-5 in segment-anything (transformers uses 1e-6). */
  transformerLayerNormEps: number;
  /** Upscaling LayerNorm2d. */
  layerNormEps: number;
}

export interface SamConfig {
  name: string;
  imageEncoder: SamImageEncoderConfig;
  promptEncoder: SamPromptEncoderConfig;
  maskDecoder: SamMaskDecoderConfig;
  /** RGB mean/std on 0..255 values. */
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
  maskThreshold: number;
}

export type SamPresetName = 'sam-vit-b' | 'sam-vit-l' | 'sam-vit-h' | 'slimsam-77';

const PIXEL_MEAN: [number, number, number] = [123.675, 116.28, 103.53];
const PIXEL_STD: [number, number, number] = [58.395, 57.12, 57.375];

/** The prompt encoder and mask decoder are the same in every released SAM size. */
function samWithVit(
  name: string,
  vit: Pick<
    SamImageEncoderConfig,
    'embedDim' | 'depth' | 'numHeads' | 'mlpDim' | 'globalAttnIndexes' | 'blockDimsFromWeights'
  >,
  imgSize = 1024,
): SamConfig {
  const grid = imgSize / 16;
  return {
    name,
    imageEncoder: {
      imgSize,
      patchSize: 16,
      inChans: 3,
      outChans: 256,
      qkvBias: true,
      useAbsPos: true,
      useRelPos: true,
      windowSize: 14,
      layerNormEps: 1e-6,
      ...vit,
    },
    promptEncoder: {
      embedDim: 256,
      imageEmbeddingSize: [grid, grid],
      inputImageSize: [imgSize, imgSize],
      maskInChans: 16,
      layerNormEps: 1e-6,
    },
    maskDecoder: {
      transformerDim: 256,
      depth: 2,
      numHeads: 8,
      mlpDim: 2048,
      attentionDownsampleRate: 2,
      numMultimaskOutputs: 3,
      iouHeadDepth: 3,
      iouHeadHiddenDim: 256,
      transformerLayerNormEps: 1e-5,
      layerNormEps: 1e-6,
    },
    pixelMean: PIXEL_MEAN,
    pixelStd: PIXEL_STD,
    maskThreshold: 0,
  };
}

/**
 * facebook/sam-vit-{base,large,huge} (configuration_sam.py / convert_sam_to_hf.py) and
 * Zigeng/SlimSAM-uniform-77 (config.json: vision hidden_size 168, mlp_dim 696, everything else the
 * SamVisionConfig defaults = ViT-B: 12 layers, 12 heads → head_dim 14, global [2,5,8,11]).
 */
export function samPreset(preset: SamPresetName, imgSize = 1024): SamConfig {
  switch (preset) {
    case 'sam-vit-b':
      return samWithVit(
        preset,
        {
          embedDim: 768,
          depth: 12,
          numHeads: 12,
          mlpDim: 3072,
          globalAttnIndexes: [2, 5, 8, 11],
          blockDimsFromWeights: false,
        },
        imgSize,
      );
    case 'sam-vit-l':
      return samWithVit(
        preset,
        {
          embedDim: 1024,
          depth: 24,
          numHeads: 16,
          mlpDim: 4096,
          globalAttnIndexes: [5, 11, 17, 23],
          blockDimsFromWeights: false,
        },
        imgSize,
      );
    case 'sam-vit-h':
      return samWithVit(
        preset,
        {
          embedDim: 1280,
          depth: 32,
          numHeads: 16,
          mlpDim: 5120,
          globalAttnIndexes: [7, 15, 23, 31],
          blockDimsFromWeights: false,
        },
        imgSize,
      );
    case 'slimsam-77':
      return samWithVit(
        preset,
        {
          embedDim: 168,
          depth: 12,
          numHeads: 12,
          mlpDim: 696,
          globalAttnIndexes: [2, 5, 8, 11],
          blockDimsFromWeights: true,
        },
        imgSize,
      );
  }
}

function configError(file: string, problem: string): never {
  throw new DearliError('sam-config', problem, 'Use a SAM config.json of the documented format.', file);
}

function num(obj: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = obj[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v))
    configError(file, `"${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function record(obj: unknown, key: string, file: string): Record<string, unknown> {
  const v = (obj as Record<string, unknown> | undefined)?.[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) configError(file, `"${key}" must be an object`);
  return v as Record<string, unknown>;
}

function numberPair(v: unknown, key: string, file: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number'))
    configError(file, `"${key}" must be [h, w]`);
  return [v[0], v[1]];
}

/** The reference fixtures' config.json (`segment_anything_constructor_args`). */
export function samConfigFromFixture(json: unknown, file = 'config.json'): SamConfig {
  const args = record(json, 'segment_anything_constructor_args', file);
  const enc = record(args, 'image_encoder', file);
  const pe = record(args, 'prompt_encoder', file);
  const dec = record(args, 'mask_decoder', file);
  const tr = record(dec, 'transformer', file);
  const embedDim = num(enc, 'embed_dim', file);
  const globals = enc.global_attn_indexes;
  if (!Array.isArray(globals) || !globals.every((i) => Number.isInteger(i)))
    configError(file, '"global_attn_indexes" must be a list of integers');
  const eps = /eps=([0-9.e-]+)/.exec(String(enc.norm_layer ?? ''));
  const mean = args.pixel_mean as number[];
  const std = args.pixel_std as number[];
  return {
    name: 'fixture',
    imageEncoder: {
      imgSize: num(enc, 'img_size', file),
      patchSize: num(enc, 'patch_size', file),
      inChans: num(enc, 'in_chans', file, 3),
      embedDim,
      depth: num(enc, 'depth', file),
      numHeads: num(enc, 'num_heads', file),
      mlpDim: Math.round(embedDim * num(enc, 'mlp_ratio', file, 4)),
      outChans: num(enc, 'out_chans', file),
      qkvBias: enc.qkv_bias !== false,
      useAbsPos: enc.use_abs_pos !== false,
      useRelPos: enc.use_rel_pos === true,
      windowSize: num(enc, 'window_size', file, 0),
      globalAttnIndexes: globals as number[],
      layerNormEps: eps ? Number(eps[1]) : 1e-6,
      blockDimsFromWeights: false,
    },
    promptEncoder: {
      embedDim: num(pe, 'embed_dim', file),
      imageEmbeddingSize: numberPair(pe.image_embedding_size, 'image_embedding_size', file),
      inputImageSize: numberPair(pe.input_image_size, 'input_image_size', file),
      maskInChans: num(pe, 'mask_in_chans', file),
      layerNormEps: 1e-6,
    },
    maskDecoder: {
      transformerDim: num(dec, 'transformer_dim', file),
      depth: num(tr, 'depth', file),
      numHeads: num(tr, 'num_heads', file),
      mlpDim: num(tr, 'mlp_dim', file),
      attentionDownsampleRate: num(tr, 'attention_downsample_rate', file, 2),
      numMultimaskOutputs: num(dec, 'num_multimask_outputs', file),
      iouHeadDepth: num(dec, 'iou_head_depth', file),
      iouHeadHiddenDim: num(dec, 'iou_head_hidden_dim', file),
      transformerLayerNormEps: 1e-5,
      layerNormEps: 1e-6,
    },
    pixelMean: Array.isArray(mean) && mean.length === 3 ? [mean[0], mean[1], mean[2]] : PIXEL_MEAN,
    pixelStd: Array.isArray(std) && std.length === 3 ? [std[0], std[1], std[2]] : PIXEL_STD,
    maskThreshold: num(args, 'mask_threshold', file, 0),
  };
}

/**
 * A transformers SamModel config.json. Missing fields take SamVisionConfig / SamPromptEncoderConfig /
 * SamMaskDecoderConfig defaults (= ViT-B), as transformers does. The two-way transformer keeps the
 * segment-anything LayerNorm eps (1e-5): the checkpoints were trained with it.
 */
export function samConfigFromHfConfig(json: unknown, file = 'config.json', name = 'hf-sam'): SamConfig {
  const root = (json ?? {}) as Record<string, unknown>;
  const v = (root.vision_config ?? {}) as Record<string, unknown>;
  const p = (root.prompt_encoder_config ?? {}) as Record<string, unknown>;
  const d = (root.mask_decoder_config ?? {}) as Record<string, unknown>;
  const embedDim = num(v, 'hidden_size', file, 768);
  const imgSize = num(v, 'image_size', file, 1024);
  const patch = num(v, 'patch_size', file, 16);
  const promptDim = num(p, 'hidden_size', file, 256);
  const globals = (v.global_attn_indexes ?? [2, 5, 8, 11]) as number[];
  return {
    name,
    imageEncoder: {
      imgSize,
      patchSize: patch,
      inChans: num(v, 'num_channels', file, 3),
      embedDim,
      depth: num(v, 'num_hidden_layers', file, 12),
      numHeads: num(v, 'num_attention_heads', file, 12),
      mlpDim: num(v, 'mlp_dim', file, Math.round(embedDim * num(v, 'mlp_ratio', file, 4))),
      outChans: num(v, 'output_channels', file, 256),
      qkvBias: v.qkv_bias !== false,
      useAbsPos: v.use_abs_pos !== false,
      useRelPos: v.use_rel_pos !== false,
      windowSize: num(v, 'window_size', file, 14),
      globalAttnIndexes: globals,
      layerNormEps: num(v, 'layer_norm_eps', file, 1e-6),
      // A width other than the released ViT-B/L/H ones means a pruned (SlimSAM) checkpoint: trust its per-block widths.
      blockDimsFromWeights: ![768, 1024, 1280].includes(embedDim),
    },
    promptEncoder: {
      embedDim: promptDim,
      imageEmbeddingSize: [imgSize / patch, imgSize / patch],
      inputImageSize: [imgSize, imgSize],
      maskInChans: num(p, 'mask_input_channels', file, 16),
      layerNormEps: num(p, 'layer_norm_eps', file, 1e-6),
    },
    maskDecoder: {
      transformerDim: num(d, 'hidden_size', file, 256),
      depth: num(d, 'num_hidden_layers', file, 2),
      numHeads: num(d, 'num_attention_heads', file, 8),
      mlpDim: num(d, 'mlp_dim', file, 2048),
      attentionDownsampleRate: num(d, 'attention_downsample_rate', file, 2),
      numMultimaskOutputs: num(d, 'num_multimask_outputs', file, 3),
      iouHeadDepth: num(d, 'iou_head_depth', file, 3),
      iouHeadHiddenDim: num(d, 'iou_head_hidden_dim', file, 256),
      transformerLayerNormEps: 1e-5,
      layerNormEps: num(d, 'layer_norm_eps', file, 1e-6),
    },
    pixelMean: PIXEL_MEAN,
    pixelStd: PIXEL_STD,
    maskThreshold: 0,
  };
}

/** The same architecture at another input size (for benchmarks with random weights: the pos_embed grid follows). */
export function withImageSize(config: SamConfig, imgSize: number): SamConfig {
  const p = config.imageEncoder.patchSize;
  if (imgSize % p !== 0) throw new RangeError(`img_size ${imgSize} is not a multiple of the patch size ${p}`);
  return {
    ...config,
    imageEncoder: { ...config.imageEncoder, imgSize },
    promptEncoder: {
      ...config.promptEncoder,
      imageEmbeddingSize: [imgSize / p, imgSize / p],
      inputImageSize: [imgSize, imgSize],
    },
  };
}

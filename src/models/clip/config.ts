/**
 * OpenCLIP ConvNeXt CLIP configurations as plain objects: presets for the open_clip model configs
 * DEARLi uses, and readers for an open_clip model config (hub `open_clip_config.json → model_cfg`)
 * and for the reference fixtures' `config.json`.
 */
import { DearliError } from '../../core/errors';

/** timm ConvNeXt trunk (the CLIP image tower minus its head). */
export interface ConvNextConfig {
  depths: number[];
  dims: number[];
  /** Stem conv kernel = stride. */
  stemPatch: number;
  /** Depthwise conv kernel of every block. */
  kernelSize: number;
  mlpRatio: number;
  /** Every trunk LayerNorm (stem, downsample, blocks, head). */
  eps: number;
}

/** open_clip `timm_proj`: 'linear' = Linear(C, E); 'mlp' = Linear(C, 2E) → GELU → Linear(2E, E) (the `_d` models). */
interface ClipProjectionConfig {
  kind: 'linear' | 'mlp';
  /** open_clip `timm_proj_bias`: bias on the last projection layer. */
  bias: boolean;
}

export interface ClipTextConfig {
  contextLength: number;
  vocabSize: number;
  width: number;
  heads: number;
  layers: number;
  mlpRatio: number;
  eps: number;
}

export interface ClipConfig {
  name: string;
  embedDim: number;
  /** The training resolution; the trunk itself runs at any multiple of 32. */
  imageSize: number;
  trunk: ConvNextConfig;
  projection: ClipProjectionConfig;
  text: ClipTextConfig;
}

/** timm ConvNeXt variants that open_clip configs name in `timm_model_name`. */
const TIMM_CONVNEXT: Record<string, Pick<ConvNextConfig, 'depths' | 'dims'>> = {
  convnext_tiny: { depths: [3, 3, 9, 3], dims: [96, 192, 384, 768] },
  convnext_small: { depths: [3, 3, 27, 3], dims: [96, 192, 384, 768] },
  convnext_base: { depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024] },
  convnext_large: { depths: [3, 3, 27, 3], dims: [192, 384, 768, 1536] },
};

const TRUNK_DEFAULTS = { stemPatch: 4, kernelSize: 7, mlpRatio: 4, eps: 1e-6 };
const TEXT_DEFAULTS = { contextLength: 77, vocabSize: 49408, mlpRatio: 4, eps: 1e-5 };

function trunkPreset(timmName: string): ConvNextConfig {
  const v = TIMM_CONVNEXT[timmName];
  if (!v) {
    throw new DearliError(
      'clip-config',
      `the image tower "${timmName}" is not a ConvNeXt the lab knows (known: ${Object.keys(TIMM_CONVNEXT).join(', ')})`,
      'Choose an OpenCLIP ConvNeXt model.',
    );
  }
  return { ...TRUNK_DEFAULTS, depths: [...v.depths], dims: [...v.dims] };
}

/** The paper's backbone (open_clip `convnext_base_w_320`, hub laion/CLIP-convnext_base_w_320-laion_aesthetic-s13B-b82K-augreg). */
export const CONVNEXT_BASE_W_320: ClipConfig = {
  name: 'convnext_base_w_320',
  embedDim: 640,
  imageSize: 320,
  trunk: trunkPreset('convnext_base'),
  projection: { kind: 'linear', bias: false },
  text: { ...TEXT_DEFAULTS, width: 640, heads: 10, layers: 12 },
};

/** open_clip `convnext_base_w`: the same network trained at 256 px. */
export const CONVNEXT_BASE_W: ClipConfig = { ...CONVNEXT_BASE_W_320, name: 'convnext_base_w', imageSize: 256 };

/** open_clip `convnext_large_d_320`: ConvNeXt-L, MLP projection head, 16-layer text tower. */
const CONVNEXT_LARGE_D_320: ClipConfig = {
  name: 'convnext_large_d_320',
  embedDim: 768,
  imageSize: 320,
  trunk: trunkPreset('convnext_large'),
  projection: { kind: 'mlp', bias: false },
  text: { ...TEXT_DEFAULTS, width: 768, heads: 12, layers: 16 },
};

export const CLIP_PRESETS: Record<string, ClipConfig> = {
  convnext_base_w_320: CONVNEXT_BASE_W_320,
  convnext_base_w: CONVNEXT_BASE_W,
  convnext_large_d_320: CONVNEXT_LARGE_D_320,
};

/** The subset of an open_clip model config (model_configs/*.json) that ConvNeXt CLIPs use. */
export interface OpenClipModelConfig {
  embed_dim: number;
  quick_gelu?: boolean;
  vision_cfg: {
    timm_model_name?: string;
    timm_model_kwargs?: { depths?: number[]; dims?: number[] };
    timm_pool?: string;
    timm_proj?: string;
    timm_proj_bias?: boolean;
    image_size: number | [number, number];
  };
  text_cfg: {
    context_length?: number;
    vocab_size?: number;
    width: number;
    heads: number;
    layers: number;
    mlp_ratio?: number;
  };
}

function configError(problem: string, file?: string): never {
  throw new DearliError(
    'clip-config',
    problem,
    'Use an OpenCLIP ConvNeXt configuration (e.g. convnext_base_w_320).',
    file,
  );
}

/** Builds a config from an open_clip model config object; rejects options the port does not implement. */
export function clipConfigFromOpenClip(modelCfg: OpenClipModelConfig, name: string, file?: string): ClipConfig {
  const v = modelCfg.vision_cfg;
  if (!v?.timm_model_name) configError('the model config has no timm image tower (vision_cfg.timm_model_name)', file);
  if (modelCfg.quick_gelu) configError('QuickGELU models (OpenAI-pretrained) are not supported', file);
  if (v.timm_pool && v.timm_pool !== 'avg')
    configError(`vision_cfg.timm_pool "${v.timm_pool}" is not supported (only "" or "avg")`, file);
  const proj = v.timm_proj ?? 'linear';
  if (proj !== 'linear' && proj !== 'mlp')
    configError(`vision_cfg.timm_proj "${proj}" is not supported (only "linear" or "mlp")`, file);
  const trunk = trunkPreset(v.timm_model_name);
  if (v.timm_model_kwargs?.depths) trunk.depths = [...v.timm_model_kwargs.depths];
  if (v.timm_model_kwargs?.dims) trunk.dims = [...v.timm_model_kwargs.dims];
  const t = modelCfg.text_cfg;
  return {
    name,
    embedDim: modelCfg.embed_dim,
    imageSize: Array.isArray(v.image_size) ? v.image_size[0] : v.image_size,
    trunk,
    projection: { kind: proj, bias: v.timm_proj_bias ?? false },
    text: {
      contextLength: t.context_length ?? TEXT_DEFAULTS.contextLength,
      vocabSize: t.vocab_size ?? TEXT_DEFAULTS.vocabSize,
      width: t.width,
      heads: t.heads,
      layers: t.layers,
      mlpRatio: t.mlp_ratio ?? TEXT_DEFAULTS.mlpRatio,
      eps: TEXT_DEFAULTS.eps,
    },
  };
}

/** The reference fixtures' config.json (openclip-convnext-tiny): `open_clip_model_config` + `resolved_architecture`. */
export interface ClipFixtureConfig {
  model_name_used_for_open_clip_registry?: string;
  quick_gelu?: boolean;
  open_clip_model_config: OpenClipModelConfig;
  resolved_architecture?: {
    embed_dim: number;
    vision: {
      depths: number[];
      dims: number[];
      stem_patch_size: number;
      dw_kernel_size: number;
      mlp_ratio: number;
      norm_eps: number;
    };
    text: {
      context_length: number;
      vocab_size: number;
      width: number;
      heads: number;
      layers: number;
      mlp_ratio: number;
      norm_eps: number;
    };
  };
}

/** Reads a fixture config: the open_clip config, with every size the fixture spells out taking precedence. */
export function clipConfigFromFixture(fixture: ClipFixtureConfig, file = 'config.json'): ClipConfig {
  const base = clipConfigFromOpenClip(
    { ...fixture.open_clip_model_config, quick_gelu: fixture.quick_gelu ?? fixture.open_clip_model_config.quick_gelu },
    fixture.model_name_used_for_open_clip_registry ?? 'fixture',
    file,
  );
  const r = fixture.resolved_architecture;
  if (!r) return base;
  return {
    ...base,
    embedDim: r.embed_dim,
    trunk: {
      depths: [...r.vision.depths],
      dims: [...r.vision.dims],
      stemPatch: r.vision.stem_patch_size,
      kernelSize: r.vision.dw_kernel_size,
      mlpRatio: r.vision.mlp_ratio,
      eps: r.vision.norm_eps,
    },
    text: {
      contextLength: r.text.context_length,
      vocabSize: r.text.vocab_size,
      width: r.text.width,
      heads: r.text.heads,
      layers: r.text.layers,
      mlpRatio: r.text.mlp_ratio,
      eps: r.text.norm_eps,
    },
  };
}

/**
 * Decoder presets: the paper's M2F-Lang (method-spec §2.2–2.3) and smaller ones a laptop GPU can
 * train. Every preset keeps the architecture; only sizes change.
 */

type PixelDecoderKind = 'msdeform' | 'fpn';

export interface DecoderConfig {
  preset: string;
  numQueries: number;
  /** Transformer decoder layers (the paper's DEC_LAYERS 10 = 9 layers + the prediction on the initial queries). */
  decoderLayers: number;
  hiddenDim: number;
  heads: number;
  ffnDim: number;
  /**
   * 'msdeform': M2F's deformable encoder over res3..res5 + one FPN step (paper).
   * 'fpn': plain top-down FPN (MaskFormer's BasePixelDecoder style): no sampling gathers, roughly a
   * third of the deformable decoder's time and far less memory; M2F reports ~1 PQ lower.
   */
  pixelDecoder: PixelDecoderKind;
  encoderLayers: number;
  encoderHeads: number;
  encoderFfnDim: number;
  /** Sampling points per head and level in MSDeformAttn. */
  encoderPoints: number;
  convDim: number;
  maskDim: number;
  normGroups: number;
  /** Channels of res2..res5 from the frozen trunk (ConvNeXt-B: 128, 256, 512, 1024). */
  trunkChannels: [number, number, number, number];
  /** CLIP embedding size of the class head (ConvNeXt-B CLIP: 640). */
  embedDim: number;
  cropSize: number;
  /** Point-sampled losses (PointRend): points per mask, oversampling, importance fraction. */
  trainPoints: number;
  oversampleRatio: number;
  importanceRatio: number;
}

const CONVNEXT_B_CHANNELS: [number, number, number, number] = [128, 256, 512, 1024];

const PAPER: DecoderConfig = {
  preset: 'paper',
  numQueries: 200,
  decoderLayers: 9,
  hiddenDim: 256,
  heads: 8,
  ffnDim: 2048,
  pixelDecoder: 'msdeform',
  encoderLayers: 6,
  encoderHeads: 8,
  encoderFfnDim: 1024,
  encoderPoints: 4,
  convDim: 256,
  maskDim: 256,
  normGroups: 32,
  trunkChannels: CONVNEXT_B_CHANNELS,
  embedDim: 640,
  cropSize: 640,
  trainPoints: 112 * 112,
  oversampleRatio: 3,
  importanceRatio: 0.75,
};

export const DECODER_PRESETS: Record<string, DecoderConfig> = {
  paper: PAPER,
  /** M2F's ADE default of 100 queries, 6 layers, crop 512 (method-spec §10.5–10.6). */
  laptop: { ...PAPER, preset: 'laptop', numQueries: 100, decoderLayers: 6, cropSize: 512, trainPoints: 64 * 64 },
  /** The smallest sensible one: crop 384, 3 deformable encoder layers. */
  'laptop-small': {
    ...PAPER,
    preset: 'laptop-small',
    numQueries: 100,
    decoderLayers: 6,
    encoderLayers: 3,
    cropSize: 384,
    trainPoints: 48 * 48,
  },
  /** Same, with the plain FPN pixel decoder. */
  'laptop-fpn': {
    ...PAPER,
    preset: 'laptop-fpn',
    numQueries: 100,
    decoderLayers: 6,
    pixelDecoder: 'fpn',
    encoderLayers: 0,
    cropSize: 384,
    trainPoints: 48 * 48,
  },
  /** For tests: 64x64 crops, a few thousand parameters per block. */
  tiny: {
    preset: 'tiny',
    numQueries: 12,
    decoderLayers: 3,
    hiddenDim: 32,
    heads: 4,
    ffnDim: 64,
    pixelDecoder: 'msdeform',
    encoderLayers: 1,
    encoderHeads: 4,
    encoderFfnDim: 64,
    encoderPoints: 2,
    convDim: 32,
    maskDim: 32,
    normGroups: 8,
    trunkChannels: [16, 32, 48, 64],
    embedDim: 16,
    cropSize: 64,
    trainPoints: 256,
    oversampleRatio: 3,
    importanceRatio: 0.75,
  },
};

export function decoderPreset(name: string, overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  const base = DECODER_PRESETS[name];
  if (!base) throw new Error(`unknown decoder preset "${name}" (known: ${Object.keys(DECODER_PRESETS).join(', ')})`);
  return { ...base, ...overrides };
}

/** Number of feature levels the transformer decoder cycles through (s32, s16, s8). */
export const NUM_LEVELS = 3;

/**
 * Rough training-memory estimate for a preset and batch (fp32), to pick a preset before a run.
 * Counts what the tape keeps for backward: the deformable encoder's gathered samples dominate
 * (B·tokens·levels·points·4 taps·convDim floats per layer), then the stride-4 maps and the
 * per-layer mask logits. It is an estimate (±30 %), not a measurement; bench/train.bench.ts
 * reports the measured figure.
 */
import { NUM_LEVELS, type DecoderConfig } from './config';
import { parameterCount } from './m2fLang';

export interface MemoryEstimate {
  parameterBytes: number;
  /** Weights + gradients + two AdamW moments. */
  optimizerBytes: number;
  backboneFeatureBytes: number;
  activationBytes: number;
  totalBytes: number;
}

export function estimateTrainingMemory(c: DecoderConfig, batch: number): MemoryEstimate {
  const f = 4;
  const params = parameterCount(c);
  const side = (stride: number) => Math.ceil(c.cropSize / stride);
  const [s4, s8, s16, s32] = [4, 8, 16, 32].map((s) => side(s) ** 2);
  const tokens = s8 + s16 + s32;
  const backbone = batch * [s4, s8, s16, s32].reduce((a, n, i) => a + n * c.trunkChannels[i], 0);
  let act = 0;
  if (c.pixelDecoder === 'msdeform') {
    const perLayer = tokens * (c.convDim * (NUM_LEVELS * c.encoderPoints * 4 + 12) + 2 * c.encoderFfnDim);
    act += batch * c.encoderLayers * perLayer;
  } else {
    act += batch * (s8 + s16 + s32) * c.convDim * 8;
  }
  act += batch * s4 * c.convDim * 10; // FPN step at stride 4 + mask features
  const predictions = c.decoderLayers + 1;
  act += batch * predictions * c.numQueries * s4 * 3; // mask logits, resized copies, sigmoid
  const attnKeys = [s32, s16, s8];
  for (let i = 0; i < c.decoderLayers; i++) act += batch * c.heads * c.numQueries * attnKeys[i % NUM_LEVELS] * 3;
  act += batch * predictions * c.numQueries * (c.hiddenDim * 12 + c.ffnDim * 2);
  const parameterBytes = params * f;
  const optimizerBytes = parameterBytes * 4;
  const totalBytes = optimizerBytes + backbone * f + act * f;
  return { parameterBytes, optimizerBytes, backboneFeatureBytes: backbone * f, activationBytes: act * f, totalBytes };
}

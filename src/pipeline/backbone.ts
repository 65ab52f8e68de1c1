/**
 * The frozen backbone the decoder trains on. With CLIP weights loaded (Models tab) it is the CLIP
 * ConvNeXt image tower and class rows are CLIP text embeddings; without them, a small seeded
 * random ConvNeXt and seeded random class rows, so the pipeline runs offline. The UI names which.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng';
import { normalizeClipImage } from '../models/clip/clip';
import type { ConvNextConfig } from '../models/clip/config';
import type { ConvNextTrunk } from '../models/clip/convnext';
import { ClipImageHead } from '../models/clip/head';
import { createRandomClipWeights, createRandomConvNextTrunk } from '../models/clip/weights';
import { collectTensors } from '../models/clip/layers';
import type { ClipBranch } from '../train/pseudoLabels';

export interface ClassRows {
  /** One L2-normalisable row per synonym, [synonyms × embedDim]. */
  rows: Float32Array;
  /** Contiguous class of every synonym row. */
  synonymClass: number[];
}

export interface Backbone {
  /** What the user sees, e.g. "CLIP convnext_base_w_320" or "random ConvNeXt (no CLIP loaded)". */
  name: string;
  trunk: ConvNextTrunk;
  channels: [number, number, number, number];
  embedDim: number;
  /** Decoder presets that suit this backbone's size. */
  presets: string[];
  /** CLIP's image head and temperature: mask pooling over res5 gives P_CLIP (pseudo-labels, test-time ensembling). */
  clip: ClipBranch;
  /** `classNames[k]`: class k's names, the class name first, then its synonyms; one row per name. */
  classRows(classNames: readonly (readonly string[])[]): Promise<ClassRows>;
}

/** The offline stand-in: the size of the tiny OpenCLIP fixture's trunk. */
const RANDOM_TRUNK: ConvNextConfig = {
  depths: [1, 1, 2, 1],
  dims: [16, 32, 48, 64],
  stemPatch: 4,
  kernelSize: 7,
  mlpRatio: 4,
  eps: 1e-6,
};
const RANDOM_EMBED_DIM = 16;
/** CLIP's initial temperature 1/0.07, as a log: the offline head's stand-in for a trained one. */
export const DEFAULT_LOGIT_SCALE = Math.log(1 / 0.07);

export async function randomBackbone(): Promise<Backbone> {
  const trunk = await createRandomConvNextTrunk(RANDOM_TRUNK, 1);
  const clip = await createRandomClipWeights(
    {
      name: 'random-convnext',
      embedDim: RANDOM_EMBED_DIM,
      imageSize: 32,
      trunk: RANDOM_TRUNK,
      projection: { kind: 'linear', bias: false },
      text: { contextLength: 1, vocabSize: 1, width: 1, heads: 1, layers: 0, mlpRatio: 1, eps: 1e-5 },
    },
    2,
    'image',
  );
  tf.dispose(collectTensors(clip.trunk));
  return {
    name: 'random ConvNeXt (no CLIP weights loaded)',
    trunk,
    channels: RANDOM_TRUNK.dims as [number, number, number, number],
    embedDim: RANDOM_EMBED_DIM,
    presets: ['tiny'],
    clip: { head: new ClipImageHead(clip.imageHead, RANDOM_TRUNK.eps), logitScale: DEFAULT_LOGIT_SCALE },
    classRows: async (classNames) => seededClassRows(classNames, RANDOM_EMBED_DIM),
  };
}

/** Seeded Gaussian rows, one per name: distinct directions stand in for text embeddings. */
export function seededClassRows(classNames: readonly (readonly string[])[], embedDim: number): ClassRows {
  const rng = new Rng(12345);
  const synonymClass = classNames.flatMap((names, k) => names.map(() => k));
  return { rows: Float32Array.from({ length: synonymClass.length * embedDim }, () => rng.normal()), synonymClass };
}

/** RGB 0–255 [B, H, W, 3] → the CLIP-normalised trunk input (the parity-tested normalisation). */
export function normalizeForClip(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => normalizeClipImage(tf.div(rgb, 255) as tf.Tensor4D));
}

/**
 * The frozen backbone the decoder trains on. With CLIP weights loaded (Models tab) it is the CLIP
 * ConvNeXt image tower and class rows are CLIP text embeddings; without them, a small seeded
 * random ConvNeXt and seeded random class rows, so the pipeline runs offline. The UI names which.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng';
import type { ConvNextConfig } from '../src/models/clip/config';
import type { ConvNextTrunk } from '../src/models/clip/convnext';
import { createRandomConvNextTrunk } from '../src/models/clip/weights';
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD } from '../src/models/clip/clip';
import { backendReady } from './shared';

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
  /** `classNames[k]`: class k's names, the class name first, then its synonyms; one row per name. */
  classRows(classNames: readonly (readonly string[])[]): Promise<ClassRows>;
}

/** The offline stand-in: the size of the tiny OpenCLIP fixture's trunk. */
const RANDOM_TRUNK: ConvNextConfig = { depths: [1, 1, 2, 1], dims: [16, 32, 48, 64], stemPatch: 4, kernelSize: 7, mlpRatio: 4, eps: 1e-6 };
const RANDOM_EMBED_DIM = 16;

let clipBackbone: Backbone | null = null;
let randomBackbone: Promise<Backbone> | null = null;

/** Called by the models service when CLIP weights are loaded (null when they are freed). */
export function setClipBackbone(backbone: Backbone | null): void {
  clipBackbone = backbone;
}

export async function activeBackbone(): Promise<Backbone> {
  await backendReady();
  if (clipBackbone) return clipBackbone;
  randomBackbone ??= createRandomConvNextTrunk(RANDOM_TRUNK, 1).then((trunk) => ({
    name: 'random ConvNeXt (no CLIP weights loaded)',
    trunk,
    channels: RANDOM_TRUNK.dims as [number, number, number, number],
    embedDim: RANDOM_EMBED_DIM,
    presets: ['tiny'],
    classRows: async (classNames) => seededClassRows(classNames, RANDOM_EMBED_DIM),
  }));
  return randomBackbone;
}

/** Seeded Gaussian rows, one per name: distinct directions stand in for text embeddings. */
export function seededClassRows(classNames: readonly (readonly string[])[], embedDim: number): ClassRows {
  const rng = new Rng(12345);
  const synonymClass = classNames.flatMap((names, k) => names.map(() => k));
  return { rows: Float32Array.from({ length: synonymClass.length * embedDim }, () => rng.normal()), synonymClass };
}

/** RGB 0–255 [B, H, W, 3] → the CLIP-normalised trunk input. */
export function normalizeForClip(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.sub(tf.div(rgb, 255), [...CLIP_IMAGE_MEAN]), [...CLIP_IMAGE_STD]) as tf.Tensor4D);
}

import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../test/backend';
import { iterateDemoSplit } from '../src/data/demo';
import { ClipModel } from '../src/models/clip/clip';
import { loadClipWeights } from '../src/models/clip/weights';
import { safetensorsSource } from '../src/models/weights/tensorSource';
import { SafetensorsFile } from '../src/models/weights/safetensors';
import type { ClipTokenizer } from '../src/models/clip/tokenizer';
import {
  DEMO_CLIP_CONFIG,
  DEMO_CLIP_RECIPE,
  demoClipSafetensors,
  formatAccuracy,
  loadDemoClip,
  loadVocabulary,
  trainDemoClip,
  zeroShotAccuracy,
} from './demo-clip';

let tokenizer: ClipTokenizer;

beforeAll(async () => {
  await setupTestBackend();
  tokenizer = await loadVocabulary();
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('demo CLIP training', () => {
  it('is deterministic from its seed, and its file round-trips through the lab loader bit-exactly', async () => {
    // The full recipe at a few steps and a handful of crops: same code path, seconds instead of minutes.
    const recipe = { ...DEMO_CLIP_RECIPE, steps: 2, crops: 6, cropScenes: 1, scenes: 1 };
    const first = await trainDemoClip(recipe, tokenizer);
    const second = await trainDemoClip(recipe, tokenizer);
    expect(sha256(second)).toBe(sha256(first));
    const other = await trainDemoClip({ ...recipe, seed: recipe.seed + 1 }, tokenizer);
    expect(sha256(other)).not.toBe(sha256(first));

    // Loading (PyTorch → tfjs layouts) and exporting again (tfjs → PyTorch) gives the same bytes.
    const file = await SafetensorsFile.open(new Blob([first as BlobPart]), 'demo-clip.safetensors');
    const weights = await loadClipWeights(DEMO_CLIP_CONFIG, safetensorsSource(file));
    expect(sha256(demoClipSafetensors(weights, recipe))).toBe(sha256(first));
    new ClipModel(DEMO_CLIP_CONFIG, weights).dispose();
  });
});

describe('the shipped demo CLIP (public/demo-clip)', () => {
  it('classifies the demo validation split by GT-mask zero-shot at ≥ 80 % mean class accuracy', async () => {
    const { model, tokenizer: shippedTokenizer } = await loadDemoClip();
    const before = tf.memory().numTensors;
    const result = await zeroShotAccuracy(model, shippedTokenizer, iterateDemoSplit({}, 'validation'));
    console.log(formatAccuracy(result));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    expect(result.images).toBe(16);
    expect(result.meanClassAccuracy).toBeGreaterThanOrEqual(0.8);
  });
});

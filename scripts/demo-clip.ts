/**
 * Trains the demo CLIP: an OpenCLIP ConvNeXt CLIP at a tiny width, from scratch, contrastively on
 * image–caption pairs from the demo world, in Node on tfjs cpu, deterministically from a seed.
 * It is a demo CLIP trained on the demo world, not a real CLIP: it knows 13 classes' colours and textures.
 *
 *   npm run demo:clip -- [--seed 1] [--steps 600] [--out public/demo-clip]
 *
 * Writes demo-clip.safetensors (open_clip names; the token embedding in BF16, everything else F32),
 * open_clip_config.json and the BPE vocabulary, then prints the sha256 and the GT-mask zero-shot
 * accuracy on the demo validation split through the lab's zero-shot code.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '../src/models/ops/gradients';
import { Rng } from '../src/core/rng';
import { captionClass, captionScene, captionWords, sampleSegmentCrops } from '../src/data/demo/captions';
import { DEMO_CATEGORIES, DEMO_DEFAULTS, generateDemoImage, iterateDemoSplit, type DemoImage } from '../src/data/demo';
import { ClipModel, normalizeClipImage } from '../src/models/clip/clip';
import { clipConfigFromOpenClip, type ClipConfig, type OpenClipModelConfig } from '../src/models/clip/config';
import { ClipTokenizer } from '../src/models/clip/tokenizer';
import { clipStateDict, createRandomClipWeights, loadClipWeights } from '../src/models/clip/weights';
import { safetensorsSource } from '../src/models/weights/tensorSource';
import { classifyGtSegments, encodeSynonyms, VILD_TEMPLATES } from '../src/models/clip/zeroShot';
import { buildTextClassifier, disposeTextClassifier } from '../src/models/decoder/classHead';
import {
  float32ToBf16,
  SafetensorsFile,
  writeSafetensors,
  type TensorToWrite,
} from '../src/models/weights/safetensors';
import { DEMO_CLIP_FILES } from '../src/pipeline/demoClip';
import { ContrastiveClipTrainer } from '../src/train/clipContrastive';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_CLIP_DIR = path.join(ROOT, 'public/demo-clip');

/**
 * open_clip model config. image_size 512: the demo's 256-pixel scenes are seen at twice their size,
 * in training and in the lab's feature stage (which uses the model's size when above 320), so a
 * res5 cell covers 16 scene pixels and small things such as coins still own cells.
 */
export const DEMO_CLIP_MODEL_CFG: OpenClipModelConfig = {
  embed_dim: 32,
  vision_cfg: {
    timm_model_name: 'convnext_tiny',
    timm_model_kwargs: { depths: [1, 1, 2, 1], dims: [16, 32, 64, 128] },
    timm_pool: 'avg',
    timm_proj: 'linear',
    image_size: 512,
  },
  text_cfg: { context_length: 32, vocab_size: 49408, width: 32, heads: 4, layers: 2 },
};
export const DEMO_CLIP_CONFIG: ClipConfig = clipConfigFromOpenClip(DEMO_CLIP_MODEL_CFG, 'demo-clip');
/** Scene pixels → model input pixels. */
const INPUT_SCALE = (DEMO_CLIP_MODEL_CFG.vision_cfg.image_size as number) / DEMO_DEFAULTS.width;

export const DEMO_CLIP_RECIPE = {
  seed: 1,
  steps: 120,
  /** Crops per step, each centred on one segment: `cropSide` scene pixels, one res5 cell of the model input. */
  crops: 64,
  cropSide: 16,
  /** 256-pixel scenes the crops of a step come from. */
  cropScenes: 3,
  /** Whole scenes per step, `sceneSide` pixels, captioned with every class they show. */
  scenes: 2,
  sceneSide: 32,
  optimizer: { learningRate: 1.5e-3, weightDecay: 0.1, beta1: 0.9, beta2: 0.98, eps: 1e-6, clipNorm: 1, polyPower: 1 },
};
export type DemoClipRecipe = typeof DEMO_CLIP_RECIPE;

/** Prompt templates of the training captions: the lab's zero-shot templates and the bare phrase. */
const TEMPLATES = [...VILD_TEMPLATES, '{}'];

/** RGB bytes [B·s·s·3] → normalised model input [B, s·scale, s·scale, 3]. */
function inputBatch(rgb: Uint8Array, count: number, side: number): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.div(tf.tensor4d(Float32Array.from(rgb), [count, side, side, 3]), 255) as tf.Tensor4D;
    return normalizeClipImage(tf.image.resizeBilinear(x, [side * INPUT_SCALE, side * INPUT_SCALE], false, true));
  });
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** open_clip's BPE vocabulary (MIT), shipped beside the weights. */
const VOCABULARY_SOURCE = path.join(DEMO_CLIP_DIR, DEMO_CLIP_FILES.vocabulary);

export async function loadVocabulary(): Promise<ClipTokenizer> {
  return ClipTokenizer.fromBpeGz(new Uint8Array(await readFile(VOCABULARY_SOURCE)), DEMO_CLIP_FILES.vocabulary);
}

/** The model as open_clip safetensors: every tensor F32 but the 49408-row token embedding (BF16, half the bytes). */
export function demoClipSafetensors(
  weights: ReturnType<ContrastiveClipTrainer['exportWeights']>,
  recipe: DemoClipRecipe,
): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, t] of clipStateDict(DEMO_CLIP_CONFIG, weights)) {
    tensors[name] =
      name === 'token_embedding.weight'
        ? { dtype: 'BF16', shape: [...t.shape], data: float32ToBf16(t.data) }
        : { dtype: 'F32', shape: [...t.shape], data: t.data };
  }
  return writeSafetensors(tensors, {
    format: 'pt',
    description: 'DEARLi Lab demo CLIP, trained on the demo world (not a real CLIP)',
    recipe: JSON.stringify(recipe),
  });
}

/** Trains from scratch with the recipe; returns the safetensors bytes. Deterministic on tfjs cpu. */
export async function trainDemoClip(
  recipe: DemoClipRecipe,
  tokenizer: ClipTokenizer,
  log: (line: string) => void = () => {},
): Promise<Uint8Array> {
  const config = DEMO_CLIP_CONFIG;
  const contextLength = config.text.contextLength;
  const vocabulary = new Set(tokenizer.tokenize(captionWords(TEMPLATES), contextLength).flatMap((row) => [...row]));
  // Token rows of the BF16 file are rounded once on export; the training copy starts from the same random table.
  const trainer = new ContrastiveClipTrainer(config, await createRandomClipWeights(config, recipe.seed), {
    optimizer: { ...recipe.optimizer, maxIterations: recipe.steps },
    vocabulary,
  });
  const rng = new Rng((recipe.seed * 0x9e3779b1) ^ 0x6c1f);
  const sceneRng = () => new Rng(rng.nextUint32());
  const start = performance.now();
  try {
    for (let step = 0; step < recipe.steps; step++) {
      const big = Array.from({ length: recipe.cropScenes }, () =>
        generateDemoImage(sceneRng(), { width: DEMO_DEFAULTS.width, height: DEMO_DEFAULTS.height }),
      );
      const crops = sampleSegmentCrops(rng, big, recipe.crops, recipe.cropSide);
      const small = Array.from({ length: recipe.scenes }, () =>
        generateDemoImage(sceneRng(), { width: recipe.sceneSide, height: recipe.sceneSide }),
      );
      const sceneClasses = small.map((s) => [...new Set(s.segments.map((g) => g.category_id))].sort((a, b) => a - b));
      const captions = [
        ...crops.map((c) => captionClass(rng, c.categoryId, TEMPLATES)),
        ...sceneClasses.map((ids) => captionScene(rng, ids)),
      ];
      const keys = [...crops.map((c) => String(c.categoryId)), ...sceneClasses.map((ids) => ids.join(','))];
      const groups = [
        inputBatch(concatBytes(crops.map((c) => c.rgb)), crops.length, recipe.cropSide),
        inputBatch(concatBytes(small.map((s) => s.rgb)), small.length, recipe.sceneSide),
      ];
      const loss = trainer.step(groups, tokenizer.tokenize(captions, contextLength), keys, step);
      tf.dispose(groups);
      if (step % 10 === 0 || step === recipe.steps - 1) {
        const seconds = (performance.now() - start) / 1000;
        log(`step ${step + 1}/${recipe.steps}  loss ${(await loss.data())[0].toFixed(4)}  ${seconds.toFixed(0)} s`);
      }
      loss.dispose();
    }
    return demoClipSafetensors(trainer.exportWeights(), recipe);
  } finally {
    trainer.dispose();
  }
}

/** The demo CLIP from its files, through the lab's own readers and loader. */
export async function loadDemoClip(
  dir = DEMO_CLIP_DIR,
): Promise<{ model: ClipModel; tokenizer: ClipTokenizer; config: ClipConfig }> {
  const configFile = path.join(dir, DEMO_CLIP_FILES.config);
  const json = JSON.parse(await readFile(configFile, 'utf8')) as { model_cfg: OpenClipModelConfig };
  const config = clipConfigFromOpenClip(json.model_cfg, 'demo-clip', configFile);
  const weights = await SafetensorsFile.open(
    new Blob([await readFile(path.join(dir, DEMO_CLIP_FILES.weights))]),
    DEMO_CLIP_FILES.weights,
  );
  const tokenizer = await ClipTokenizer.fromBpeGz(
    new Uint8Array(await readFile(path.join(dir, DEMO_CLIP_FILES.vocabulary))),
    DEMO_CLIP_FILES.vocabulary,
  );
  return { model: new ClipModel(config, await loadClipWeights(config, safetensorsSource(weights))), tokenizer, config };
}

export interface ZeroShotAccuracy {
  images: number;
  perClass: { id: number; name: string; segments: number; correct: number; accuracy: number }[];
  /** Mean over the classes that have segments. */
  meanClassAccuracy: number;
}

/**
 * GT-mask zero-shot classification as the Models tab runs it: class names + synonyms through the 14
 * templates, each scene stretched to the feature side, res5 mask-pooled under each GT segment.
 */
export async function zeroShotAccuracy(
  model: ClipModel,
  tokenizer: ClipTokenizer,
  images: Iterable<DemoImage>,
): Promise<ZeroShotAccuracy> {
  const names = DEMO_CATEGORIES.map((c) => [...new Set([c.name, ...(c.synonyms ?? [])])]);
  const synonyms = names.flat();
  const rows = encodeSynonyms(model, synonyms, (texts) => tokenizer.tokenize(texts, model.config.text.contextLength));
  const classifier = buildTextClassifier(
    (await rows.data()) as Float32Array,
    model.config.embedDim,
    names.flatMap((n, k) => n.map(() => k)),
    names.length,
  );
  rows.dispose();
  const side = Math.ceil(Math.max(320, model.config.imageSize) / 32) * 32;
  const segments = new Float64Array(names.length);
  const correct = new Float64Array(names.length);
  const classIndex = new Map(DEMO_CATEGORIES.map((c, k) => [c.id, k]));
  let count = 0;
  try {
    for (const image of images) {
      count++;
      const dense = tf.tidy(() => {
        const x = tf.div(
          tf.tensor4d(Float32Array.from(image.rgb), [1, image.height, image.width, 3]),
          255,
        ) as tf.Tensor4D;
        return model.trunk.forwardDense(normalizeClipImage(tf.image.resizeBilinear(x, [side, side], false, true)));
      });
      const predicted = await classifyGtSegments(
        model,
        classifier,
        dense,
        image.ids,
        image.width,
        image.segments.map((s) => s.id),
      );
      dense.dispose();
      image.segments.forEach((s, n) => {
        const k = classIndex.get(s.category_id)!;
        segments[k]++;
        if (predicted[n] === k) correct[k]++;
      });
    }
  } finally {
    disposeTextClassifier(classifier);
  }
  const perClass = DEMO_CATEGORIES.map((c, k) => ({
    id: c.id,
    name: c.name,
    segments: segments[k],
    correct: correct[k],
    accuracy: segments[k] > 0 ? correct[k] / segments[k] : NaN,
  }));
  const present = perClass.filter((c) => c.segments > 0);
  return { images: count, perClass, meanClassAccuracy: present.reduce((a, c) => a + c.accuracy, 0) / present.length };
}

export function formatAccuracy(r: ZeroShotAccuracy): string {
  const lines = r.perClass.map(
    (c) =>
      `  ${c.name.padEnd(9)} ${c.segments > 0 ? (100 * c.accuracy).toFixed(1).padStart(5) : '  n/a'} %  (${c.correct}/${c.segments})`,
  );
  return [
    `GT-mask zero-shot on ${r.images} images: mean class accuracy ${(100 * r.meanClassAccuracy).toFixed(1)} %`,
    ...lines,
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      steps: { type: 'string' },
      out: { type: 'string' },
      validation: { type: 'string' },
    },
  });
  const recipe = {
    ...DEMO_CLIP_RECIPE,
    seed: Number(values.seed ?? DEMO_CLIP_RECIPE.seed),
    steps: Number(values.steps ?? DEMO_CLIP_RECIPE.steps),
  };
  if (!Number.isInteger(recipe.seed) || !Number.isInteger(recipe.steps) || recipe.steps < 1) {
    console.error('usage: npm run demo:clip -- [--seed N] [--steps N] [--out DIR] [--validation N]');
    return 1;
  }
  const out = path.resolve(values.out ?? DEMO_CLIP_DIR);
  await tf.setBackend('cpu');
  await tf.ready();
  const tokenizer = await loadVocabulary();
  const start = performance.now();
  const bytes = await trainDemoClip(recipe, tokenizer, (line) => console.log(line));
  const minutes = (performance.now() - start) / 60000;
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, DEMO_CLIP_FILES.weights), bytes);
  await writeFile(
    path.join(out, DEMO_CLIP_FILES.config),
    `${JSON.stringify({ model_cfg: DEMO_CLIP_MODEL_CFG }, null, 2)}\n`,
  );
  if (path.join(out, DEMO_CLIP_FILES.vocabulary) !== VOCABULARY_SOURCE)
    await copyFile(VOCABULARY_SOURCE, path.join(out, DEMO_CLIP_FILES.vocabulary));
  console.log(`trained in ${minutes.toFixed(1)} min; wrote ${out} (${(bytes.length / 1e6).toFixed(2)} MB weights)`);
  console.log(`sha256 ${createHash('sha256').update(bytes).digest('hex')}  ${DEMO_CLIP_FILES.weights}`);
  const loaded = await loadDemoClip(out);
  const validation = Number(values.validation ?? DEMO_DEFAULTS.validation);
  console.log(
    formatAccuracy(
      await zeroShotAccuracy(loaded.model, loaded.tokenizer, iterateDemoSplit({ validation }, 'validation')),
    ),
  );
  loaded.model.dispose();
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();

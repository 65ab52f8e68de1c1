/**
 * Per-kernel GPU time of one run of a lab workload (tf.profile with WebGPU timestamp queries): which
 * kernels and shapes to optimise first. Not a speed figure: profiling serialises the kernels.
 * Query string (`npm run bench:profile -- 'part=sam-decoder&size=256'`):
 *   part    sam-encoder, sam-decoder (default) or train
 *   model   SAM preset for the sam parts (default slimsam-77)
 *   size    SAM encoder img_size, or the training crop (default 256 for SAM, 64 for train)
 *   batch   decoder points per batch (default 64), or training images per batch (default 2)
 *   preset  decoder preset for train (default tiny: the tiny trunk; other presets: a random ConvNeXt-B trunk)
 *   top     rows per table (default 30)
 * One untimed run first compiles the shaders. The table lists kernels by total GPU ms; the log and the
 * JSON also give the top kernels by input shape.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import { CONVNEXT_BASE_W_320 } from '../src/models/clip/config';
import { createRandomConvNextTrunk } from '../src/models/clip/weights';
import { decoderPreset } from '../src/models/decoder/config';
import { M2FLang } from '../src/models/decoder/m2fLang';
import { samPreset, withImageSize, type SamPresetName } from '../src/models/sam/config';
import { SamModel, SamPredictor } from '../src/models/sam/sam';
import { randomSamTensorSource } from '../src/models/sam/weights';
import { createTrainer } from '../src/train/createTrainer';
import { TINY_TRUNK } from './train.bench';
import { randomClassifier, randomTrainingBatch } from './trainingInputs';
import type { BrowserBenchmark } from './types';

type Workload = () => Promise<void>;

async function samWorkload(part: string, model: SamPresetName, size: number, batch: number): Promise<Workload> {
  const config = withImageSize(samPreset(model), size);
  const sam = await SamModel.load(randomSamTensorSource(config), config);
  const predictor = new SamPredictor(sam);
  if (part === 'sam-encoder') {
    const rgba = new Uint8Array(size * size * 4).map((_, i) => (i * 13) % 256);
    return async () => {
      predictor.setImage(rgba, size, size, 4);
      await predictor.imageEmbedding.data();
    };
  }
  const [h, w] = config.promptEncoder.imageEmbeddingSize;
  const embedding = tf.randomNormal([1, h, w, config.promptEncoder.embedDim], 0, 1, 'float32', 3) as tf.Tensor4D;
  const coords = tf.randomUniform([batch, 1, 2], 0, size, 'float32', 5) as tf.Tensor3D;
  const labels = tf.ones([batch, 1], 'int32') as tf.Tensor2D;
  return async () => {
    const out = sam.decode(embedding, { pointCoords: coords, pointLabels: labels }, true);
    await out.lowResLogits.data();
    tf.dispose([out.lowResLogits, out.iouPredictions]);
  };
}

async function trainWorkload(presetName: string, crop: number, batch: number): Promise<Workload> {
  const config = decoderPreset(presetName, { cropSize: crop });
  const trunk = await createRandomConvNextTrunk(presetName === 'tiny' ? TINY_TRUNK : CONVNEXT_BASE_W_320.trunk, 1);
  const model = new M2FLang(config, 1);
  const trainer = createTrainer('supervised', model, randomClassifier(config), 1000, 1);
  const { images, targets } = randomTrainingBatch(config, batch, crop);
  const features = trunk.forwardFeatures(images);
  const last = [...model.variables.values()].at(-1)!;
  return async () => {
    await trainer.step(features, targets);
    await tf.tidy(() => tf.slice(tf.reshape(last, [-1]), 0, 1)).data();
  };
}

type KernelRecord = Awaited<ReturnType<typeof tf.profile>>['kernels'][number];

interface KernelTotal {
  kernel: string;
  ms: number;
  calls: number;
}

function totals(kernels: KernelRecord[], keyOf: (k: KernelRecord) => string): KernelTotal[] {
  const byKey = new Map<string, KernelTotal>();
  for (const k of kernels) {
    const key = keyOf(k);
    const t = byKey.get(key) ?? { kernel: key, ms: 0, calls: 0 };
    t.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    t.calls += 1;
    byKey.set(key, t);
  }
  return [...byKey.values()].sort((a, b) => b.ms - a.ms);
}

export const runBenchmark: BrowserBenchmark = async (log) => {
  const info = await initBackend();
  const q = new URLSearchParams(location.search);
  const part = q.get('part') ?? 'sam-decoder';
  const top = Number(q.get('top') ?? 30);
  if (!['sam-encoder', 'sam-decoder', 'train'].includes(part))
    throw new Error(`unknown part ${part} (known: sam-encoder, sam-decoder, train)`);
  const size = Number(q.get('size') ?? (part === 'train' ? 64 : 256));
  const batch = Number(q.get('batch') ?? (part === 'train' ? 2 : 64));
  const model = (q.get('model') ?? 'slimsam-77') as SamPresetName;
  const preset = q.get('preset') ?? 'tiny';
  const what =
    part === 'train'
      ? `training step, ${preset} preset, crop ${size}, batch ${batch}`
      : `${part}, ${model}, img_size ${size}${part === 'sam-decoder' ? `, ${batch} points` : ''}`;
  log(`backend ${info.name} ${info.adapter?.description ?? ''}: profiling ${what}`);
  const run = part === 'train' ? await trainWorkload(preset, size, batch) : await samWorkload(part, model, size, batch);
  await run();
  const t0 = performance.now();
  const profile = await tf.profile(run);
  const wallMs = performance.now() - t0;
  const byKernel = totals(profile.kernels, (k) => k.name);
  const byShape = totals(profile.kernels, (k) => `${k.name} ${JSON.stringify(k.inputShapes)}`);
  const kernelMs = byKernel.reduce((a, t) => a + t.ms, 0);
  log(
    `wall ${wallMs.toFixed(0)} ms under the profiler, ${profile.kernels.length} kernels, ${kernelMs.toFixed(0)} ms of kernel time`,
  );
  for (const t of byShape.slice(0, top)) log(`${t.ms.toFixed(1)} ms  x${t.calls}  ${t.kernel}`);
  return {
    title: `GPU time per kernel: ${what}`,
    columns: ['kernel', 'ms', 'calls', 'share %'],
    rows: byKernel.slice(0, top).map((t) => [t.kernel, t.ms, t.calls, (100 * t.ms) / kernelMs]),
    figures: {
      backend: info,
      part,
      size,
      batch,
      model,
      preset,
      wallMs,
      kernelMs,
      kernels: profile.kernels.length,
      byKernel,
      byShape: byShape.slice(0, 200),
    },
    notes: ['kernel ms from WebGPU timestamp queries; a backend without them reports 0'],
  };
};

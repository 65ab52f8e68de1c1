/**
 * Decoder training speed and memory on the lab's backend (WebGPU): ms/iteration per preset and
 * batch, broken down into frozen-backbone forward, decoder forward + matching costs + the one
 * readback, CPU Hungarian matching, and loss + backward + AdamW. Random weights (the speed does
 * not depend on them), random images and targets.
 *
 * Query string (npm run bench:train -- 'presets=laptop,paper&batches=2,8&iters=5&crop=640'):
 *   presets  decoder presets (src/models/decoder/config.ts), default tiny (SwiftShader-sized;
 *            on a real GPU pass e.g. presets=laptop-small,laptop,paper)
 *   batches  default 2,8
 *   iters    timed iterations after one warm-up, default 2
 *   crop     override every preset's crop, or `preset` for each preset's own crop (real sizes); default:
 *            preset crop, except laptop-small/laptop/paper which are REDUCED to 128 so the defaults
 *            finish in minutes on SwiftShader.
 *   limit    seconds one preset and batch (build, warm-up and timed iterations) may take (default: no
 *            limit): past it its row reads "> N s" and the benchmark goes on (bench/liveReport.ts)
 * Presets with ConvNeXt-B channels use a random ConvNeXt-B trunk; 'tiny' the tiny fixture-sized trunk.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import { CONVNEXT_BASE_W_320, type ConvNextConfig } from '../src/models/clip/config';
import { createRandomConvNextTrunk } from '../src/models/clip/weights';
import { estimateTrainingMemory } from '../src/models/decoder/budget';
import { disposeTextClassifier } from '../src/models/decoder/classHead';
import { decoderPreset } from '../src/models/decoder/config';
import { M2FLang } from '../src/models/decoder/m2fLang';
import { parameterCount } from '../src/models/decoder/params';
import { createTrainer } from '../src/train/createTrainer';
import { randomClassifier, randomTrainingBatch } from './trainingInputs';
import { LiveReport } from './liveReport';
import type { BrowserBenchmark } from './types';

const REDUCED_CROP = 128;
export const TINY_TRUNK: ConvNextConfig = {
  depths: [1, 1, 2, 1],
  dims: [16, 32, 48, 64],
  stemPatch: 4,
  kernelSize: 7,
  mlpRatio: 4,
  eps: 1e-6,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const runBenchmark: BrowserBenchmark = async (log) => {
  const info = await initBackend();
  const q = new URLSearchParams(location.search);
  const presets = (q.get('presets') ?? 'tiny').split(',');
  const batches = (q.get('batches') ?? '2,8').split(',').map(Number);
  const iters = Number(q.get('iters') ?? 2);
  const cropOverride = q.get('crop') && q.get('crop') !== 'preset' ? Number(q.get('crop')) : null;
  const reduceCrop = q.get('crop') !== 'preset';
  log(`backend ${info.name} ${info.adapter?.description ?? ''}`);
  const limitS = Number(q.get('limit') ?? Infinity);
  const live = new LiveReport('decoder training iteration (M2F-Lang, frozen ConvNeXt trunk)', [
    'preset',
    'batch',
    'M params',
    'backbone ms',
    'dec fwd+costs+readback ms',
    'matching ms',
    'loss+bwd+AdamW ms',
    'total ms/it',
    'GPU pool MB',
    'est. MB',
  ]);
  const figures: Record<string, unknown>[] = [];
  Object.assign(live.figures, { backend: info, runs: figures });
  for (const name of presets) {
    const base = decoderPreset(name);
    const reduced = reduceCrop && cropOverride === null && base.cropSize > REDUCED_CROP && name !== 'tiny';
    const crop = cropOverride ?? (reduced ? REDUCED_CROP : base.cropSize);
    const config = decoderPreset(name, { cropSize: crop });
    const trunkConfig = name === 'tiny' ? TINY_TRUNK : CONVNEXT_BASE_W_320.trunk;
    const trunk = await createRandomConvNextTrunk(trunkConfig, 1);
    for (const batch of batches) {
      const label = `${name}${crop !== base.cropSize ? ` (REDUCED crop ${crop})` : ''}`;
      log(`${label} batch ${batch}: building`);
      const row = live.row([label, batch, parameterCount(config) / 1e6, '', '', '', '', '', '', '']);
      await live.measure(
        row,
        7,
        async () => {
          const model = new M2FLang(config, 1);
          const classifier = randomClassifier(config);
          const trainer = createTrainer('supervised', model, classifier, 1000, 1);
          const { images, targets } = randomTrainingBatch(config, batch, crop);
          const timings = {
            backbone: [] as number[],
            forwardReadback: [] as number[],
            matching: [] as number[],
            lossUpdate: [] as number[],
            total: [] as number[],
          };
          for (let it = 0; it <= iters; it++) {
            const t0 = performance.now();
            const features = trunk.forwardFeatures(images);
            await features.res5.data();
            const t1 = performance.now();
            const r = await trainer.step(features, targets);
            // Wait for the update to finish on the GPU (a 1-element readback of the last parameter).
            const last = [...model.variables.values()].at(-1)!;
            await tf.tidy(() => tf.slice(tf.reshape(last, [-1]), 0, 1)).data();
            const t2 = performance.now();
            tf.dispose(Object.values(features));
            if (it === 0) continue; // warm-up: shader compilation
            timings.backbone.push(t1 - t0);
            timings.forwardReadback.push(r.timings.forwardAndReadbackMs);
            timings.matching.push(r.timings.matchingMs);
            timings.lossUpdate.push(t2 - t1 - r.timings.forwardAndReadbackMs - r.timings.matchingMs);
            timings.total.push(t2 - t0);
            log(`  iter ${it}: ${(t2 - t0).toFixed(0)} ms`);
          }
          if (String(row[7]).startsWith('>')) return; // past its limit: the row keeps "> N s"
          // WebGPU reports its buffer pool as numBytesAllocatedInGPU (buffers are pooled, never freed).
          const mem = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number; numBytesInGPU?: number };
          const estimate = estimateTrainingMemory(config, batch);
          row.splice(
            3,
            7,
            median(timings.backbone),
            median(timings.forwardReadback),
            median(timings.matching),
            median(timings.lossUpdate),
            median(timings.total),
            (mem.numBytesAllocatedInGPU ?? mem.numBytes) / 2 ** 20,
            estimate.totalBytes / 2 ** 20,
          );
          figures.push({ preset: name, crop, reduced, batch, timings, memory: mem, estimate });
          tf.dispose([images, targets.masks]);
          trainer.dispose();
          model.dispose();
          disposeTextClassifier(classifier);
        },
        limitS,
      );
    }
    trunk.dispose();
  }
  return live.report([
    'REDUCED = crop lowered from the preset so the default run fits SwiftShader; pass crop= to override.',
    'GPU pool MB = tf.memory().numBytesAllocatedInGPU after the run (tfjs never frees pooled buffers, so ≈ peak; CPU bytes on other backends); est. MB = src/models/decoder/budget.ts.',
    'The decoder forward runs twice per iteration (matching costs, then under the gradient tape); its first pass is in "dec fwd" and the second in "loss+bwd+AdamW".',
  ]);
};

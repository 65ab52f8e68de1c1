/**
 * Decoder training speed and memory on the lab's backend (WebGPU): ms/iteration per preset and
 * batch, broken down into frozen-backbone forward, decoder forward + matching costs + the one
 * readback, CPU Hungarian matching, and loss + backward + AdamW. Random weights (the speed does
 * not depend on them), random images and targets.
 * Each supervised row has a Mean Teacher row beside it (MeanTeacherTrainer.step on the labeled batch
 * plus `batch` unlabeled images with CutMix partners): its decoder column is the teacher's weak-view
 * trunk + decoder + CLIP pooling + readback, and its host columns are the pseudo-labels (P_ENS,
 * panoptic inference, CutMix label mixing, upload) and matching; "CPU %" is the host share of an iteration.
 *
 * Query string (npm run bench:train -- 'presets=laptop,paper&batches=2,8&iters=5&crop=640'; the
 * smallest: 'batches=1&iters=1&limit=120'):
 *   presets  decoder presets (src/models/decoder/config.ts), default tiny (SwiftShader-sized;
 *            on a real GPU pass e.g. presets=laptop-small,laptop,paper)
 *   batches  default 2,8
 *   iters    timed iterations after one warm-up, default 2
 *   crop     override every preset's crop, or `preset` for each preset's own crop (real sizes); default:
 *            preset crop, except laptop-small/laptop/paper which are REDUCED to 128 so the defaults
 *            finish in minutes on SwiftShader.
 *   limit    seconds one row (build, warm-up and timed iterations) may take (default: no limit): past
 *            it the row reads "> N s" and the benchmark goes on (bench/liveReport.ts)
 *   stages   supervised,meanTeacher (default both)
 * Presets with ConvNeXt-B channels use a random ConvNeXt-B trunk; 'tiny' the tiny fixture-sized trunk.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import { ClipModel, normalizeClipImage } from '../src/models/clip/clip';
import { CONVNEXT_BASE_W_320, type ClipConfig, type ConvNextConfig } from '../src/models/clip/config';
import { estimateTrainingMemory } from '../src/models/decoder/budget';
import { disposeTextClassifier } from '../src/models/decoder/classHead';
import { decoderPreset } from '../src/models/decoder/config';
import { M2FLang } from '../src/models/decoder/m2fLang';
import { parameterCount } from '../src/models/decoder/m2fLang';
import type { DecoderConfig } from '../src/models/decoder/config';
import { tidyAll } from '../src/models/ops/scope';
import { createTrainer } from '../src/train/createTrainer';
import { MeanTeacherTrainer, meanTeacherOptions } from '../src/train/meanTeacherTrainer';
import { randomClassifier, randomTrainingBatch, randomUnlabeled } from './trainingInputs';
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

/** A random-weight CLIP image tower on the given trunk, projecting to the decoder's embedding (P_CLIP's mask pooling). */
function randomClip(trunk: ConvNextConfig, config: DecoderConfig) {
  const clip: ClipConfig = {
    name: 'random-clip',
    embedDim: config.embedDim,
    imageSize: config.cropSize,
    trunk,
    projection: { kind: 'linear', bias: false },
    text: { contextLength: 1, vocabSize: 1, width: 1, heads: 1, layers: 0, mlpRatio: 1, eps: 1e-5 },
  };
  return ClipModel.random(clip, 1, 'image');
}

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
  const stages = (q.get('stages') ?? 'supervised,meanTeacher').split(',');
  const live = new LiveReport('decoder training iteration (M2F-Lang, frozen ConvNeXt trunk)', [
    'preset',
    'iteration',
    'batch',
    'M params',
    'backbone ms',
    'dec fwd+costs+readback ms',
    'pseudo-labels+CutMix ms',
    'matching ms',
    'loss+bwd+AdamW ms',
    'total ms/it',
    'CPU %',
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
    const clip = await randomClip(name === 'tiny' ? TINY_TRUNK : CONVNEXT_BASE_W_320.trunk, config);
    const trunk = clip.trunk;
    // The Mean Teacher's frozen trunk takes RGB 0–255 (its normalisation is the trunk's job).
    const rgbTrunk = (rgb: tf.Tensor4D) =>
      tidyAll(() => trunk.forwardFeatures(normalizeClipImage(tf.div(rgb, 255) as tf.Tensor4D)));
    for (const batch of batches) {
      for (const stage of stages) {
        const meanTeacher = stage === 'meanTeacher';
        const label = `${name}${crop !== base.cropSize ? ` (REDUCED crop ${crop})` : ''}`;
        log(`${label} ${stage} batch ${batch}: building`);
        const row = live.row([label, stage, batch, parameterCount(config) / 1e6, '', '', '', '', '', '', '', '', '']);
        await live.measure(
          row,
          9,
          async () => {
            const model = new M2FLang(config, 1);
            const classifier = randomClassifier(config);
            const trainer = createTrainer('supervised', model, classifier, 1000, 1);
            const mt = meanTeacher
              ? new MeanTeacherTrainer(
                  trainer,
                  rgbTrunk,
                  { head: clip.imageHead, logitScale: Math.log(100) },
                  meanTeacherOptions(crop, config.numQueries, (k) => k % 2 === 0, { seed: 1 }),
                )
              : null;
            const { images, targets } = randomTrainingBatch(config, batch, crop);
            const unlabeled = meanTeacher ? randomUnlabeled(batch, crop) : [];
            const timings = {
              backbone: [] as number[],
              forwardReadback: [] as number[],
              pseudoLabels: [] as number[],
              matching: [] as number[],
              lossUpdate: [] as number[],
              total: [] as number[],
            };
            for (let it = 0; it <= iters; it++) {
              const t0 = performance.now();
              const features = trunk.forwardFeatures(images);
              await features.res5.data();
              const t1 = performance.now();
              // Mean Teacher: the teacher phase and the host pseudo-labels, then the student step (matching inside it).
              const phases = mt
                ? await mt.step({ features, targets }, unlabeled).then(({ timings: t }) => ({
                    forwardReadback: t.teacherMs,
                    pseudoLabels: t.pseudoLabelsMs,
                    matching: t.matchingMs,
                  }))
                : await trainer.step(features, targets).then(({ timings: t }) => ({
                    forwardReadback: t.forwardAndReadbackMs,
                    pseudoLabels: 0,
                    matching: t.matchingMs,
                  }));
              // Wait for the update to finish on the GPU (a 1-element readback of the last parameter).
              const last = [...model.variables.values()].at(-1)!;
              await tf.tidy(() => tf.slice(tf.reshape(last, [-1]), 0, 1)).data();
              const t2 = performance.now();
              tf.dispose(Object.values(features));
              if (it === 0) continue; // warm-up: shader compilation
              timings.backbone.push(t1 - t0);
              timings.forwardReadback.push(phases.forwardReadback);
              timings.pseudoLabels.push(phases.pseudoLabels);
              timings.matching.push(phases.matching);
              timings.lossUpdate.push(t2 - t1 - phases.forwardReadback - phases.pseudoLabels - phases.matching);
              timings.total.push(t2 - t0);
              log(`  iter ${it}: ${(t2 - t0).toFixed(0)} ms`);
            }
            if (String(row[9]).startsWith('>')) return; // past its limit: the row keeps "> N s"
            // WebGPU reports its buffer pool as numBytesAllocatedInGPU (buffers are pooled, never freed).
            const mem = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number; numBytesInGPU?: number };
            const estimate = estimateTrainingMemory(config, batch);
            const cpuShare = timings.total.map((t, i) => (timings.pseudoLabels[i] + timings.matching[i]) / t);
            row.splice(
              4,
              9,
              median(timings.backbone),
              median(timings.forwardReadback),
              meanTeacher ? median(timings.pseudoLabels) : '-',
              median(timings.matching),
              median(timings.lossUpdate),
              median(timings.total),
              100 * median(cpuShare),
              (mem.numBytesAllocatedInGPU ?? mem.numBytes) / 2 ** 20,
              meanTeacher ? '-' : estimate.totalBytes / 2 ** 20,
            );
            figures.push({ preset: name, stage, crop, reduced, batch, timings, memory: mem, estimate });
            tf.dispose([images, targets.masks, ...unlabeled.flatMap((u) => [u.image, u.partner])]);
            mt?.dispose();
            trainer.dispose();
            model.dispose();
            disposeTextClassifier(classifier);
          },
          limitS,
        );
      }
    }
    clip.dispose();
  }
  return live.report([
    'REDUCED = crop lowered from the preset so the default run fits SwiftShader; pass crop= to override.',
    'GPU pool MB = tf.memory().numBytesAllocatedInGPU after the run (tfjs never frees pooled buffers, so ≈ peak; CPU bytes on other backends); est. MB = src/models/decoder/budget.ts (supervised only).',
    'Supervised: the decoder forward runs twice per iteration (matching costs, then under the gradient tape); its first pass is in "dec fwd" and the second in "loss+bwd+AdamW".',
    'Mean Teacher: "dec fwd" is the teacher on the weak views (trunk, decoder, CLIP mask pooling, one readback); "loss+bwd+AdamW" is the student on both terms (strong views through the trunk, both forwards, backward, AdamW) and the EMA; "pseudo-labels+CutMix" is host P_ENS, panoptic inference, CutMix label mixing and upload.',
    'CPU % = (pseudo-labels+CutMix + matching) / total: the host share of an iteration (the readbacks are inside the GPU columns).',
  ]);
};

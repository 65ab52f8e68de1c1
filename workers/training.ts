/**
 * The decoder training stages in the worker: supervised M2F-Lang on a labeled dataset and DeWa on
 * class-agnostic masks. A run is persisted in the runs store (view + stage state with its
 * checkpoint as a Blob) every few steps and at pause, so a reload resumes from the same iteration.
 */
import { DearliError, toUserMessage } from '../src/core/errors';
import type { Category } from '../src/core/panoptic';
import { decodeMaskPng } from '../src/data/decode';
import * as store from '../src/data/store';
import { buildTextClassifier, disposeTextClassifier } from '../src/models/decoder/classHead';
import { decoderPreset, type DecoderConfig } from '../src/models/decoder/config';
import { M2FLang } from '../src/models/decoder/m2fLang';
import { parameterCount } from '../src/models/decoder/params';
import { DEFAULT_OPTIMIZER, polyLearningRate } from '../src/train/optim';
import { createTrainer, decoderTrainingStage, type DecoderStageState } from '../src/train/stages/decoderTraining';
import { run, type Stage, type StateStore } from '../src/train/stages/runner';
import { DEWA_CLASS_SYNONYMS } from '../src/train/targets';
import type { LossReport } from '../src/train/trainStep';
import { activeBackbone, type Backbone } from './backbone';
import { editedClassNames, namesOf } from './models';
import { db, userFacing } from './shared';
import { classIndex, sampleRefs, trainingBatch, type SampleRef } from './trainingData';
import { evaluateDecoder, type ImagePrediction } from './trainingEval';
import type { PredictionView, PresetView, RunView, TrainingApi, TrainingConfig } from './trainingApi';

interface PersistedRun {
  view: RunView;
  stage: (Omit<DecoderStageState, 'checkpoint'> & { checkpoint: Blob | null }) | null;
}

const RUN_PREFIX = 'train:';
const SAVE_EVERY = 10;

const watchers = new Set<(view: RunView) => void>();
let active: { runId: string; abort: AbortController; done: Promise<void> } | null = null;
let lastPredictions: { predictions: ImagePrediction[]; categories: Category[]; classNames: string[][] } | null = null;

function notify(view: RunView): void {
  for (const w of watchers) w(structuredClone(view));
}

/** The class list a run trains on: the dataset's categories, or DeWa's single class-agnostic one. */
function runCategories(config: TrainingConfig, dataset: store.DatasetRecord | undefined): Category[] {
  if (config.kind === 'dewa') return [{ id: 1, name: DEWA_CLASS_SYNONYMS[0], synonyms: [...DEWA_CLASS_SYNONYMS], isthing: true }];
  if (!dataset) throw new DearliError('train-missing-dataset', 'the training dataset is no longer stored', 'Choose another dataset.');
  return dataset.categories;
}

/**
 * The names a new run's text classifier is built from: for supervised runs the user's class names and
 * synonyms (Models tab), for DeWa its one class-agnostic class.
 */
async function runClassNames(config: TrainingConfig, categories: readonly Category[]): Promise<string[][]> {
  return config.kind === 'dewa' ? categories.map(namesOf) : editedClassNames(config.trainDatasetIds[0], categories);
}

function decoderConfig(config: TrainingConfig, backbone: Backbone): DecoderConfig {
  if (!backbone.presets.includes(config.preset)) {
    throw new DearliError('train-preset', `preset "${config.preset}" does not fit the backbone ${backbone.name}`, `Choose one of: ${backbone.presets.join(', ')}.`);
  }
  return decoderPreset(config.preset, { trunkChannels: backbone.channels, embedDim: backbone.embedDim, cropSize: config.cropSize });
}

/** Weights, gradients and two Adam moments, plus the largest activations (mask logits per layer and query). */
function estimateMemory(c: DecoderConfig, batch: number): number {
  const params = parameterCount(c) * 4 * 4;
  const maskMap = (c.cropSize / 4) ** 2;
  const activations = batch * (c.decoderLayers + 1) * c.numQueries * maskMap * 4 * 3;
  const pixel = batch * maskMap * c.hiddenDim * 4 * (c.encoderLayers + 4) * 2;
  return params + activations + pixel;
}

async function saveRun(runId: string, persisted: PersistedRun): Promise<void> {
  await store.putRun(await db(), { id: runId, updatedAt: Date.now(), state: persisted });
}

async function loadRun(runId: string): Promise<PersistedRun> {
  const rec = await store.getRun<PersistedRun>(await db(), runId);
  if (!rec) throw new DearliError('train-missing-run', `run ${runId} is not stored`, 'Start a new run.');
  await withClassNames(rec.state.view);
  return rec.state;
}

/** Runs saved before runs recorded their class names trained on their categories' own names. */
async function withClassNames(view: RunView): Promise<RunView> {
  if (view.classNames) return view;
  const dataset = await store.getDataset(await db(), view.config.trainDatasetIds[0]);
  // A supervised run whose dataset is gone cannot resume, so it lists no names.
  view.classNames = view.config.kind === 'supervised' && !dataset ? [] : runCategories(view.config, dataset).map(namesOf);
  return view;
}

type StepTimings = { forwardAndReadbackMs: number; matchingMs: number; lossAndUpdateMs: number };

/** Adds wall-clock timing and a per-step hook (curves, evaluation) around a stage's step. */
function timed(
  stage: Stage<DecoderStageState>,
  onStep: (state: DecoderStageState, ms: number, loss: LossReport | null, timings: StepTimings | undefined) => Promise<void>,
): Stage<DecoderStageState> {
  return {
    ...stage,
    async step(state) {
      const t0 = performance.now();
      const r = await stage.step(state);
      await onStep(r.state, performance.now() - t0, r.state.lastLoss, r.progress.details?.timings as StepTimings | undefined);
      return r;
    },
  };
}

async function execute(runId: string, signal: AbortSignal): Promise<void> {
  const persisted = await loadRun(runId);
  const view = persisted.view;
  const config = view.config;
  const d = await db();
  const backbone = await activeBackbone();
  if (view.backbone !== backbone.name) {
    throw new DearliError('train-backbone', `this run trains on "${view.backbone}" but the loaded backbone is "${backbone.name}"`, 'Load the same CLIP weights (Models tab) to resume it, or start a new run.');
  }
  const categories = runCategories(config, await store.getDataset(d, config.trainDatasetIds[0]));
  const valDataset = config.validationDatasetId ? await store.getDataset(d, config.validationDatasetId) : undefined;
  const decoder = decoderConfig(config, backbone);
  // The names the run started with, not today's edits: a resume must not change the classifier.
  const classes = await backbone.classRows(view.classNames);
  const classifier = buildTextClassifier(classes.rows, backbone.embedDim, classes.synonymClass, categories.length);
  const model = new M2FLang(decoder, config.seed);
  const trainer = createTrainer(config.kind, model, classifier, config.iterations, config.seed, { learningRate: config.learningRate });
  try {
    const refs = await sampleRefs(d, config.trainDatasetIds, config.kind === 'supervised');
    if (refs.length === 0) throw new DearliError('train-empty', 'the training datasets hold no usable images', config.kind === 'supervised' ? 'Import a labeled dataset.' : 'Run the SAM stage first.');
    const valRefs: SampleRef[] =
      config.kind === 'supervised' && valDataset ? (await sampleRefs(d, [valDataset.id], true)).slice(0, Math.max(1, config.validationImages)) : [];
    const plan = { kind: config.kind, refs, batchSize: config.batchSize, cropSize: decoder.cropSize, maxTargets: decoder.numQueries, classOf: classIndex(categories) };
    const stage = decoderTrainingStage(config.kind, trainer, config.iterations, (_it, rng) => trainingBatch(d, backbone, plan, rng));
    const optimizer = { ...DEFAULT_OPTIMIZER, maxIterations: config.iterations, learningRate: config.learningRate };
    let rate = 0;
    /** Losses arrive one step late (and at saves); a point is plotted at the iteration count after its step. */
    const addLossPoint = (l: LossReport) => {
      if (l.iteration + 1 <= (view.losses.at(-1)?.iteration ?? 0)) return;
      view.losses.push({
        iteration: l.iteration + 1,
        total: l.total,
        classLoss: l.classLoss,
        maskLoss: l.maskLoss,
        diceLoss: l.diceLoss,
        learningRate: polyLearningRate(optimizer, l.iteration),
        iterationsPerSecond: rate,
      });
    };

    const evaluate = async (iteration: number) => {
      if (valRefs.length === 0) return;
      const { point, predictions } = await evaluateDecoder(d, backbone, model, classifier, categories, valRefs, iteration);
      view.evals.push(point);
      lastPredictions = { predictions, categories, classNames: view.classNames };
    };

    const withEval = timed(stage, async (state, ms, loss, timings) => {
      rate = rate === 0 ? 1000 / ms : 0.9 * rate + 100 / ms;
      if (timings) {
        const dataMs = Math.max(0, ms - timings.forwardAndReadbackMs - timings.matchingMs - timings.lossAndUpdateMs);
        view.timings = { ...timings, dataMs };
      }
      view.iteration = state.iteration;
      if (loss) addLossPoint(loss);
      const atEnd = state.iteration >= config.iterations;
      if (atEnd || (config.evalEvery > 0 && state.iteration % config.evalEvery === 0)) await evaluate(state.iteration);
      notify(view);
    });

    const stateStore: StateStore<DecoderStageState> = {
      load: async () =>
        persisted.stage && { ...persisted.stage, checkpoint: persisted.stage.checkpoint ? new Uint8Array(await persisted.stage.checkpoint.arrayBuffer()) : null },
      save: async (state) => {
        persisted.stage = { ...state, checkpoint: state.checkpoint ? new Blob([state.checkpoint as Uint8Array<ArrayBuffer>]) : null };
        if (state.lastLoss) addLossPoint(state.lastLoss);
        view.iteration = state.iteration;
        await saveRun(runId, persisted);
      },
    };

    view.status = 'running';
    view.error = null;
    notify(view);
    const { outcome } = await run(withEval, stateStore, signal, () => {}, { saveEvery: SAVE_EVERY });
    view.status = outcome === 'finished' ? 'finished' : 'paused';
    await saveRun(runId, persisted);
    notify(view);
  } finally {
    trainer.dispose();
    model.dispose();
    disposeTextClassifier(classifier);
  }
}

function launch(runId: string): void {
  const abort = new AbortController();
  const done = execute(runId, abort.signal)
    .catch(async (e) => {
      const persisted = await loadRun(runId);
      persisted.view.status = 'failed';
      persisted.view.error = toUserMessage(e);
      await saveRun(runId, persisted);
      notify(persisted.view);
    })
    .finally(() => {
      if (active?.runId === runId) active = null;
    });
  active = { runId, abort, done };
}

function overlay(ids: ArrayLike<number>, colorOf: (id: number) => [number, number, number] | null): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(ids.length * 4);
  for (let i = 0; i < ids.length; i++) {
    const c = colorOf(ids[i]);
    if (!c) continue;
    rgba.set([c[0], c[1], c[2], 255], 4 * i);
  }
  return rgba;
}

function categoryColor(c: Category | undefined, instance: number): [number, number, number] {
  const base = c?.color ?? [200, 200, 200];
  if (!c?.isthing) return base;
  const j = ((instance * 47) % 61) - 30;
  return [Math.max(0, Math.min(255, base[0] + j)), Math.max(0, Math.min(255, base[1] - j)), Math.max(0, Math.min(255, base[2] + j))];
}

export const trainingService: TrainingApi = {
  trainingPresets: userFacing(async (batchSize) => {
    const backbone = await activeBackbone();
    const presets: PresetView[] = backbone.presets.map((name) => {
      const c = decoderPreset(name, { trunkChannels: backbone.channels, embedDim: backbone.embedDim });
      return { name, parameterCount: parameterCount(c), estimatedMemoryBytes: estimateMemory(c, batchSize), cropSize: c.cropSize };
    });
    return { backbone: backbone.name, presets };
  }),

  startTraining: userFacing(async (config) => {
    if (active) throw new DearliError('train-busy', 'a training run is already in progress', 'Pause it before starting another.');
    if (config.trainDatasetIds.length === 0) throw new DearliError('train-no-dataset', 'no training dataset was chosen', 'Choose a labeled dataset (or datasets with SAM masks for DeWa).');
    const d = await db();
    const backbone = await activeBackbone();
    const decoder = decoderConfig(config, backbone);
    const categories = runCategories(config, await store.getDataset(d, config.trainDatasetIds[0]));
    const runId = `${RUN_PREFIX}${crypto.randomUUID()}`;
    const view: RunView = {
      id: runId,
      config,
      status: 'paused',
      iteration: 0,
      totalIterations: config.iterations,
      backbone: backbone.name,
      classNames: await runClassNames(config, categories),
      parameterCount: parameterCount(decoder),
      losses: [],
      evals: [],
      timings: null,
      error: null,
    };
    await saveRun(runId, { view, stage: null });
    lastPredictions = null;
    launch(runId);
    return view;
  }),

  pauseTraining: async () => {
    const current = active;
    if (!current) return;
    current.abort.abort();
    await current.done;
  },

  resumeTraining: userFacing(async (runId) => {
    if (active) throw new DearliError('train-busy', 'a training run is already in progress', 'Pause it before resuming another.');
    const persisted = await loadRun(runId);
    if (persisted.view.status === 'finished') throw new DearliError('train-finished', 'this run has finished', 'Start a new run.');
    launch(runId);
  }),

  latestRun: userFacing(async () => {
    const runs = (await store.listRuns(await db())).filter((r) => r.id.startsWith(RUN_PREFIX));
    const latest = runs.sort((a, b) => b.updatedAt - a.updatedAt)[0];
    if (!latest) return null;
    const view = await withClassNames((latest.state as PersistedRun).view);
    // A run that was running when the page went away resumes from its last save.
    if (view.status === 'running' && active?.runId !== view.id) view.status = 'paused';
    return view;
  }),

  watchTraining: async (onUpdate) => {
    watchers.add(onUpdate);
  },

  validationPredictions: userFacing(async (limit) => {
    if (!lastPredictions) return [];
    const d = await db();
    const { predictions, categories, classNames } = lastPredictions;
    const views: PredictionView[] = [];
    for (const { ref, result } of predictions.slice(0, limit)) {
      const rec = await store.getImage(d, ref.imageId);
      if (!rec) continue;
      const byId = new Map(categories.map((c) => [c.id, c]));
      let gt: Uint8ClampedArray | null = null;
      if (rec.mask && rec.segments) {
        const { ids } = decodeMaskPng(new Uint8Array(await rec.mask.arrayBuffer()), rec.fileName);
        const segs = new Map(rec.segments.map((s) => [s.id, s]));
        gt = overlay(ids, (id) => {
          const s = segs.get(id);
          return s ? categoryColor(byId.get(s.category_id), s.id) : null;
        });
      }
      const predSegments = new Map(result.segments.map((s) => [s.id, s]));
      const prediction = overlay(result.idMap, (id) => {
        const s = predSegments.get(id);
        return s ? categoryColor(categories[s.category_id], s.id) : null;
      });
      views.push({
        imageId: ref.imageId,
        fileName: ref.fileName,
        width: ref.width,
        height: ref.height,
        image: rec.blob,
        groundTruth: gt,
        prediction,
        segments: result.segments.map((s) => ({ id: s.id, name: classNames[s.category_id][0], isthing: s.isthing })),
      });
    }
    return views;
  }),
};

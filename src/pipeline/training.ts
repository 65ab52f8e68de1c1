/**
 * The training service: decoder stages (supervised M2F-Lang on a labeled dataset, DeWa on
 * class-agnostic masks) on the runner. A run is persisted in the runs store (view + stage state with
 * its checkpoint as a Blob) every few steps and at pause, so a reload resumes from the same iteration.
 */
import { DearliError, toUserMessage } from '../core/errors';
import type { Category } from '../core/panoptic';
import { decodeMaskPng } from '../data/decode';
import * as store from '../data/store';
import { estimateTrainingMemory } from '../models/decoder/budget';
import { buildTextClassifier, disposeTextClassifier } from '../models/decoder/classHead';
import { decoderPreset, type DecoderConfig } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { parameterCount } from '../models/decoder/params';
import { createTrainer } from '../train/createTrainer';
import { DEWA_CLASS_SYNONYMS } from '../train/targets';
import { promptNames } from '../data/vocabulary';
import type { Backbone } from './backbone';
import { run, type Stage, type StateStore } from './runner';
import { paintOverlay, segmentColor } from './segmentColors';
import { decoderTrainingStage, type AppliedLoss, type DecoderStageState } from './stages/decoderTraining';
import { classIndex, type SampleRef, type TrainingSamples } from './trainingData';
import { evaluateDecoder, type ImagePrediction } from './trainingEval';
import type { PredictionView, PresetView, RunView, TrainingApi, TrainingConfig } from './trainingApi';
import type { JobSlot } from './jobs';

interface PersistedRun {
  view: RunView;
  stage: (Omit<DecoderStageState, 'checkpoint'> & { checkpoint: Blob | null }) | null;
}

const RUN_PREFIX = 'train:';
const SAVE_EVERY = 10;
const JOB = 'training';

/** The class list a run trains on: the dataset's categories, or DeWa's single class-agnostic one. */
function runCategories(config: TrainingConfig, dataset: store.DatasetRecord | undefined): Category[] {
  if (config.kind === 'dewa') return [{ id: 1, name: DEWA_CLASS_SYNONYMS[0], synonyms: [...DEWA_CLASS_SYNONYMS], isthing: true }];
  if (!dataset) throw new DearliError('train-missing-dataset', 'the training dataset is no longer stored', 'Choose another dataset.');
  return dataset.categories;
}

function decoderConfig(config: TrainingConfig, backbone: Backbone): DecoderConfig {
  if (!backbone.presets.includes(config.preset)) {
    throw new DearliError('train-preset', `preset "${config.preset}" does not fit the backbone ${backbone.name}`, `Choose one of: ${backbone.presets.join(', ')}.`);
  }
  return decoderPreset(config.preset, { trunkChannels: backbone.channels, embedDim: backbone.embedDim, cropSize: config.cropSize });
}

type StepTimings = { forwardAndReadbackMs: number; matchingMs: number; lossAndUpdateMs: number };

/** Adds wall-clock timing and a per-step hook (curves, evaluation) around a stage's step. */
function timed(
  stage: Stage<DecoderStageState>,
  onStep: (state: DecoderStageState, ms: number, loss: AppliedLoss | null, timings: StepTimings | undefined) => Promise<void>,
): Stage<DecoderStageState> {
  return {
    ...stage,
    async step(state, signal) {
      const t0 = performance.now();
      const r = await stage.step(state, signal);
      await onStep(r.state, performance.now() - t0, r.state.lastLoss, r.progress.details?.timings as StepTimings | undefined);
      return r;
    },
  };
}

/** What the training service needs from its session. */
export interface TrainingServiceDeps {
  db: store.DearliDB;
  samples: TrainingSamples;
  jobs: JobSlot;
  /** The backbone runs train on now (CLIP, or the offline stand-in). */
  backbone: () => Promise<Backbone>;
  /** The user's names per category of a dataset (class name first, then synonyms). */
  classNames: (datasetId: string, categories: readonly Category[]) => Promise<string[][]>;
}

export type TrainingService = ReturnType<typeof createTrainingService>;

export function createTrainingService({ db, samples, jobs, backbone: activeBackbone, classNames }: TrainingServiceDeps) {
  const watchers = new Set<(view: RunView) => void>();
  let lastPredictions: { predictions: ImagePrediction[]; categories: Category[]; classNames: string[][] } | null = null;
  let runningId: string | null = null;

  function notify(view: RunView): void {
    for (const w of watchers) w(structuredClone(view));
  }

  async function saveRun(runId: string, persisted: PersistedRun): Promise<void> {
    await store.putRun(db, { id: runId, updatedAt: Date.now(), state: persisted });
  }

  async function loadRun(runId: string): Promise<PersistedRun> {
    const rec = await store.getRun<PersistedRun>(db, runId);
    if (!rec) throw new DearliError('train-missing-run', `run ${runId} is not stored`, 'Start a new run.');
    await withClassNames(rec.state.view);
    return rec.state;
  }

  /** Runs saved before runs recorded their class names trained on their categories' own names. */
  async function withClassNames(view: RunView): Promise<RunView> {
    if (view.classNames) return view;
    const dataset = await store.getDataset(db, view.config.trainDatasetIds[0]);
    // A supervised run whose dataset is gone cannot resume, so it lists no names.
    view.classNames = view.config.kind === 'supervised' && !dataset ? [] : runCategories(view.config, dataset).map(promptNames);
    return view;
  }

  /** A new run, persisted before its first step; training it is `train`'s job. */
  async function createRun(config: TrainingConfig): Promise<RunView> {
    if (config.trainDatasetIds.length === 0) throw new DearliError('train-no-dataset', 'no training dataset was chosen', 'Choose a labeled dataset (or datasets with SAM masks for DeWa).');
    const backbone = await activeBackbone();
    const decoder = decoderConfig(config, backbone);
    const categories = runCategories(config, await store.getDataset(db, config.trainDatasetIds[0]));
    const runId = `${RUN_PREFIX}${crypto.randomUUID()}`;
    const view: RunView = {
      id: runId,
      config,
      status: 'paused',
      iteration: 0,
      totalIterations: config.iterations,
      backbone: backbone.name,
      // DeWa trains its one class-agnostic class; supervised runs the user's names, kept on resume.
      classNames: config.kind === 'dewa' ? categories.map(promptNames) : await classNames(config.trainDatasetIds[0], categories),
      parameterCount: parameterCount(decoder),
      losses: [],
      evals: [],
      timings: null,
      error: null,
    };
    await saveRun(runId, { view, stage: null });
    return view;
  }

  async function execute(runId: string, signal: AbortSignal): Promise<RunView> {
    const persisted = await loadRun(runId);
    const view = persisted.view;
    const config = view.config;
    const backbone = await activeBackbone();
    if (view.backbone !== backbone.name) {
      throw new DearliError('train-backbone', `this run trains on "${view.backbone}" but the loaded backbone is "${backbone.name}"`, 'Load the same CLIP weights (Models tab) to resume it, or start a new run.');
    }
    const categories = runCategories(config, await store.getDataset(db, config.trainDatasetIds[0]));
    const valDataset = config.validationDatasetId ? await store.getDataset(db, config.validationDatasetId) : undefined;
    const decoder = decoderConfig(config, backbone);
    // The names the run started with, not today's edits: a resume must not change the classifier.
    const classes = await backbone.classRows(view.classNames);
    const classifier = buildTextClassifier(classes.rows, backbone.embedDim, classes.synonymClass, categories.length);
    const model = new M2FLang(decoder, config.seed);
    const trainer = createTrainer(config.kind, model, classifier, config.iterations, config.seed, { learningRate: config.learningRate });
    try {
      const refs = await samples.sampleRefs(config.trainDatasetIds, config.kind === 'supervised');
      if (refs.length === 0) throw new DearliError('train-empty', 'the training datasets hold no usable images', config.kind === 'supervised' ? 'Import a labeled dataset.' : 'Run the SAM stage first.');
      const valRefs: SampleRef[] =
        config.kind === 'supervised' && valDataset ? (await samples.sampleRefs([valDataset.id], true)).slice(0, Math.max(1, config.validationImages)) : [];
      const plan = { kind: config.kind, refs, batchSize: config.batchSize, cropSize: decoder.cropSize, maxTargets: decoder.numQueries, classOf: classIndex(categories) };
      const stage = decoderTrainingStage(config.kind, trainer, config.iterations, (_it, rng) => samples.trainingBatch(backbone, plan, rng));
      let rate = 0;
      /** Losses arrive one step late (and at saves); a point is plotted at the iteration count after its step. */
      const addLossPoint = (l: AppliedLoss) => {
        if (l.iteration + 1 <= (view.losses.at(-1)?.iteration ?? 0)) return;
        view.losses.push({
          iteration: l.iteration + 1,
          total: l.total,
          classLoss: l.classLoss,
          maskLoss: l.maskLoss,
          diceLoss: l.diceLoss,
          learningRate: l.learningRate,
          iterationsPerSecond: rate,
        });
      };

      const evaluate = async (iteration: number) => {
        if (valRefs.length === 0) return;
        const { point, predictions } = await evaluateDecoder(samples, backbone, model, classifier, categories, valRefs, iteration);
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
      return view;
    } finally {
      trainer.dispose();
      model.dispose();
      disposeTextClassifier(classifier);
    }
  }

  /** Trains a stored run until it finishes or `signal` pauses it; a failure is recorded in the run. */
  async function train(runId: string, signal: AbortSignal): Promise<RunView> {
    runningId = runId;
    try {
      return await execute(runId, signal);
    } catch (e) {
      const persisted = await loadRun(runId);
      persisted.view.status = 'failed';
      persisted.view.error = toUserMessage(e);
      await saveRun(runId, persisted);
      notify(persisted.view);
      throw e;
    } finally {
      runningId = null;
    }
  }

  /** Starts training a run as the session's job, in the background: progress goes to the watchers. */
  function launch(runId: string): void {
    jobs.start(JOB, (signal) => train(runId, signal)).catch(() => {});
  }

  async function validationPredictions(limit: number): Promise<PredictionView[]> {
    if (!lastPredictions) return [];
    const { predictions, categories, classNames: names } = lastPredictions;
    const byId = new Map(categories.map((c) => [c.id, c]));
    const views: PredictionView[] = [];
    for (const { ref, result } of predictions.slice(0, limit)) {
      const rec = await store.getImage(db, ref.imageId);
      if (!rec) continue;
      let gt: Uint8ClampedArray | null = null;
      if (rec.mask && rec.segments) {
        const { ids } = decodeMaskPng(new Uint8Array(await rec.mask.arrayBuffer()), rec.fileName);
        const segs = new Map(rec.segments.map((s) => [s.id, s]));
        gt = paintOverlay(ids, (id) => {
          const s = segs.get(id);
          return s ? segmentColor(s.id, byId.get(s.category_id)) : null;
        });
      }
      const predSegments = new Map(result.segments.map((s) => [s.id, s]));
      const prediction = paintOverlay(result.idMap, (id) => {
        const s = predSegments.get(id);
        return s ? segmentColor(s.id, categories[s.category_id]) : null;
      });
      views.push({
        imageId: ref.imageId,
        fileName: ref.fileName,
        width: ref.width,
        height: ref.height,
        image: rec.blob,
        groundTruth: gt,
        prediction,
        segments: result.segments.map((s) => ({ id: s.id, name: names[s.category_id][0], isthing: s.isthing })),
      });
    }
    return views;
  }

  const api: TrainingApi = {
    trainingPresets: async (batchSize) => {
      const backbone = await activeBackbone();
      const presets: PresetView[] = backbone.presets.map((name) => {
        const c = decoderPreset(name, { trunkChannels: backbone.channels, embedDim: backbone.embedDim });
        return { name, parameterCount: parameterCount(c), estimatedMemoryBytes: estimateTrainingMemory(c, batchSize).totalBytes, cropSize: c.cropSize };
      });
      return { backbone: backbone.name, presets };
    },

    startTraining: async (config) => {
      if (jobs.current) throw new DearliError('train-busy', `${jobs.current} is in progress`, 'Pause it before starting a training run.');
      const view = await createRun(config);
      lastPredictions = null;
      launch(view.id);
      return view;
    },

    pauseTraining: () => jobs.stop(JOB),

    resumeTraining: async (runId) => {
      if (jobs.current) throw new DearliError('train-busy', `${jobs.current} is in progress`, 'Pause it before resuming a run.');
      const persisted = await loadRun(runId);
      if (persisted.view.status === 'finished') throw new DearliError('train-finished', 'this run has finished', 'Start a new run.');
      launch(runId);
    },

    latestRun: async () => {
      const runs = (await store.listRuns(db)).filter((r) => r.id.startsWith(RUN_PREFIX));
      const latest = runs.sort((a, b) => b.updatedAt - a.updatedAt)[0];
      if (!latest) return null;
      const view = await withClassNames((latest.state as PersistedRun).view);
      // A run that was running when the page went away resumes from its last save.
      if (view.status === 'running' && runningId !== view.id) view.status = 'paused';
      return view;
    },

    watchTraining: async (onUpdate) => {
      watchers.add(onUpdate);
    },

    validationPredictions,
  };

  return { createRun, train, loadRun: async (runId: string) => (await loadRun(runId)).view, api };
}

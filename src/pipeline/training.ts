/**
 * The training service: decoder stages (supervised M2F-Lang on a labeled dataset, DeWa on
 * class-agnostic masks, Mean Teacher on labeled + unlabeled images from a DeWa run or from scratch)
 * on the runner. A run is persisted in the runs store (view + stage state with
 * its checkpoint as a Blob) every few steps and at pause, so a reload resumes from the same iteration.
 */
import { DearliError, toUserMessage } from '../core/errors';
import type { Category } from '../core/panoptic';
import * as store from '../data/store';
import { estimateTrainingMemory } from '../models/decoder/budget';
import { buildTextClassifier, disposeTextClassifier, type TextClassifier } from '../models/decoder/classHead';
import { decoderPreset, type DecoderConfig } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { parameterCount } from '../models/decoder/m2fLang';
import type { Rng } from '../core/rng';
import { restoreCheckpoint } from '../train/checkpoint';
import { restoreMeanTeacher } from '../train/meanTeacherCheckpoint';
import { createTrainer } from '../train/createTrainer';
import { UPSTREAM_EMA_DECAY } from '../train/meanTeacher';
import {
  MeanTeacherTrainer,
  meanTeacherOptions,
  type AlphaChange,
  type FrozenTrunk,
} from '../train/meanTeacherTrainer';
import type { Trainer } from '../train/trainStep';
import { UPSTREAM_ENSEMBLE_ALPHA } from '../train/pseudoLabels';
import { DEWA_CLASS_SYNONYMS } from '../train/targets';
import { promptNames } from '../data/vocabulary';
import { normalizeForClip, type Backbone } from './backbone';
import { run, type Stage, type StateStore } from './runner';
import { preflightTraining } from './preflight';
import { proposedSettings, typicalShortEdge } from './presetDefaults';
import { decoderTrainingStage, type AppliedLoss, type DecoderStageState } from './stages/decoderTraining';
import { meanTeacherStage, type MeanTeacherStageState } from './stages/meanTeacher';
import { classIndex, type SampleRef, type TrainingSamples } from './trainingData';
import { sweepFromCache, sweepImages, stripAt, stripCache, type StripCache } from './trainingAlpha';
import { evaluateDecoder, evaluateMaskRecall, type ImagePrediction } from './trainingEval';
import { predictionViews } from './predictionViews';
import type { LossPoint, PredictionView, PresetView, RunView, TrainingApi, TrainingConfig } from './trainingApi';
import type { JobSlot } from './jobs';

type StageState = DecoderStageState | MeanTeacherStageState;

/** A Mean Teacher run's teacher with what its forward needs. */
interface TeacherContext {
  view: RunView;
  teacher: M2FLang;
  classifier: TextClassifier;
  categories: Category[];
  backbone: Backbone;
}

export interface PersistedRun {
  view: RunView;
  stage:
    | (Omit<DecoderStageState, 'checkpoint'> & { checkpoint: Blob | null })
    | (Omit<MeanTeacherStageState, 'checkpoint' | 'teacher'> & { checkpoint: Blob | null; teacher: Blob | null })
    | null;
  /** The last validation's predictions, kept so that the viewer shows them after a reload. */
  predictions?: { predictions: ImagePrediction[]; categories: Category[] };
}

const toBlob = (bytes: Uint8Array | null) => (bytes ? new Blob([bytes as Uint8Array<ArrayBuffer>]) : null);
const fromBlob = async (blob: Blob | null | undefined) => (blob ? new Uint8Array(await blob.arrayBuffer()) : null);

export const RUN_PREFIX = 'train:';
const SAVE_EVERY = 10;
const JOB = 'training';

/** The class list a run trains on: the dataset's categories, or DeWa's single class-agnostic one. */
function runCategories(config: TrainingConfig, dataset: store.DatasetRecord | undefined): Category[] {
  if (config.kind === 'dewa')
    return [{ id: 1, name: DEWA_CLASS_SYNONYMS[0], synonyms: [...DEWA_CLASS_SYNONYMS], isthing: true }];
  if (!dataset)
    throw new DearliError(
      'train-missing-dataset',
      'the training dataset is no longer stored',
      'Choose another dataset.',
    );
  return dataset.categories;
}

function decoderConfig(config: TrainingConfig, backbone: Backbone): DecoderConfig {
  if (!backbone.presets.includes(config.preset)) {
    throw new DearliError(
      'train-preset',
      `preset "${config.preset}" does not fit the backbone ${backbone.name}`,
      `Choose one of: ${backbone.presets.join(', ')}.`,
    );
  }
  return decoderPreset(config.preset, {
    trunkChannels: backbone.channels,
    embedDim: backbone.embedDim,
    cropSize: config.cropSize,
  });
}

/** The α a Mean Teacher iteration used. */
function alphaAt(history: readonly AlphaChange[], iteration: number): number {
  let alpha = history[0].alpha;
  for (const c of history) if (c.iteration <= iteration) alpha = c.alpha;
  return alpha;
}

/** The adaptive α period, checked: a whole number of iterations and validation images to sweep over. */
function adaptiveEvery(adaptive: { every: number }, validationImages: number): number {
  if (!Number.isInteger(adaptive.every) || adaptive.every < 1)
    throw new DearliError(
      'mt-adaptive-every',
      `adaptive α must re-sweep every whole number of iterations ≥ 1, got ${adaptive.every}`,
      'Set "every K iterations" to 1 or more.',
    );
  if (validationImages === 0)
    throw new DearliError(
      'mt-adaptive-no-validation',
      'adaptive α sweeps over the validation images, and the run has none',
      'Choose a labeled validation dataset, or turn adaptive α off.',
    );
  return adaptive.every;
}

/** Test-time ensembling is on by default at upstream's weight. */
function testTimeEnsembleAlpha(config: TrainingConfig): number | null {
  return config.testTimeEnsembleAlpha === undefined ? UPSTREAM_ENSEMBLE_ALPHA : config.testTimeEnsembleAlpha;
}

type StepTimings = {
  forwardAndReadbackMs: number;
  matchingMs: number;
  lossAndUpdateMs: number;
  pseudoLabelsMs?: number;
};

/** What a step reports beside its state: phase timings, and for Mean Teacher the pseudo-label segments per unlabeled image. */
type StepDetails = { timings?: StepTimings; pseudoSegments?: number[] };

/** Adds wall-clock timing and a per-step hook (curves, evaluation) around a stage's step. */
function timed<S extends StageState>(
  stage: Stage<S>,
  onStep: (state: S, ms: number, loss: AppliedLoss | null, details: StepDetails) => Promise<void>,
): Stage<S> {
  return {
    ...stage,
    async step(state, signal) {
      const t0 = performance.now();
      const r = await stage.step(state, signal);
      await onStep(r.state, performance.now() - t0, r.state.lastLoss, (r.progress.details ?? {}) as StepDetails);
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

export function createTrainingService({
  db,
  samples,
  jobs,
  backbone: activeBackbone,
  classNames,
}: TrainingServiceDeps) {
  const watchers = new Set<(view: RunView) => void>();
  let lastPredictions: {
    runId: string;
    predictions: ImagePrediction[];
    categories: Category[];
    classNames: string[][];
  } | null = null;
  let runningId: string | null = null;
  /** The view of the run training now (what setAlpha changes). */
  let liveView: RunView | null = null;
  /** The teacher of the Mean Teacher run training now (sweeps and the strip use it between steps). */
  let liveTeacher: TeacherContext | null = null;
  let strip: { runId: string; count: number; cache: StripCache; categories: Category[]; decoderRuns: number } | null =
    null;

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
    view.classNames =
      view.config.kind === 'supervised' && !dataset ? [] : runCategories(view.config, dataset).map(promptNames);
    return view;
  }

  /**
   * Runs `use` with a Mean Teacher run's teacher: the live one while a run trains, else the latest
   * run's saved teacher, loaded for the call and freed after it.
   */
  async function withTeacher<T>(use: (ctx: TeacherContext) => Promise<T>): Promise<T> {
    if (liveTeacher) return use(liveTeacher);
    const latest = await api.latestRun();
    if (!latest || latest.config.kind !== 'meanTeacher')
      throw new DearliError(
        'mt-no-run',
        'there is no Mean Teacher run',
        'Start one (Train tab, stage "Mean Teacher") first.',
      );
    const persisted = await loadRun(latest.id);
    const saved = persisted.stage;
    if (!saved || saved.kind !== 'meanTeacher' || !saved.checkpoint || !saved.teacher) {
      throw new DearliError(
        'mt-no-teacher',
        'the Mean Teacher run has no saved teacher yet',
        'Train it for a few iterations (it saves at pauses and every few steps).',
      );
    }
    const config = latest.config;
    const backbone = await activeBackbone();
    const categories = runCategories(config, await store.getDataset(db, config.trainDatasetIds[0]));
    const classes = await backbone.classRows(latest.classNames);
    const classifier = buildTextClassifier(classes.rows, backbone.embedDim, classes.synonymClass, categories.length);
    const decoder = decoderConfig(config, backbone);
    const model = new M2FLang(decoder, config.seed);
    const trainer = createTrainer('supervised', model, classifier, config.iterations, config.seed);
    const trunk: FrozenTrunk = (images) => backbone.trunk.forwardFeatures(normalizeForClip(images));
    const mt = new MeanTeacherTrainer(
      trainer,
      trunk,
      backbone.clip,
      meanTeacherOptions(decoder.cropSize, decoder.numQueries, (k) => categories[k].isthing),
    );
    try {
      await restoreMeanTeacher(mt, {
        student: (await fromBlob(saved.checkpoint))!,
        teacher: (await fromBlob(saved.teacher))!,
      });
      return await use({ view: persisted.view, teacher: mt.teacher.model, classifier, categories, backbone });
    } finally {
      mt.dispose();
      trainer.dispose();
      model.dispose();
      disposeTextClassifier(classifier);
    }
  }

  /** Loads a finished DeWa run's weights into the student; a run of another preset or crop is refused. */
  async function loadDewaWeights(config: TrainingConfig, trainer: Trainer): Promise<void> {
    const dewa = await store.getRun<PersistedRun>(db, config.dewaRunId!);
    const state = dewa?.state;
    if (!state || state.view.config.kind !== 'dewa' || state.view.status !== 'finished' || !state.stage?.checkpoint) {
      throw new DearliError(
        'mt-dewa-run',
        `run ${config.dewaRunId} is not a finished DeWa run`,
        'Finish the DeWa run first, or start Mean Teacher from scratch.',
      );
    }
    const d = state.view.config;
    if (d.preset !== config.preset || d.cropSize !== config.cropSize) {
      throw new DearliError(
        'mt-dewa-preset',
        `the DeWa run trained preset "${d.preset}" at crop ${d.cropSize}, this Mean Teacher run asks for "${config.preset}" at crop ${config.cropSize}`,
        `Choose preset "${d.preset}" and crop ${d.cropSize}, or start from scratch.`,
      );
    }
    await restoreCheckpoint(trainer, state.stage.checkpoint, { weightsOnly: true });
  }

  /** A new run, persisted before its first step; training it is `train`'s job. */
  async function createRun(config: TrainingConfig): Promise<RunView> {
    if (config.trainDatasetIds.length === 0)
      throw new DearliError(
        'train-no-dataset',
        'no training dataset was chosen',
        'Choose a labeled dataset (or datasets with SAM masks for DeWa).',
      );
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
      classNames:
        config.kind === 'dewa' ? categories.map(promptNames) : await classNames(config.trainDatasetIds[0], categories),
      parameterCount: parameterCount(decoder),
      losses: [],
      evals: [],
      timings: null,
      error: null,
    };
    await saveRun(runId, { view, stage: null });
    return view;
  }

  async function execute(runId: string, signal: AbortSignal, onStep: (view: RunView) => void): Promise<RunView> {
    const persisted = await loadRun(runId);
    const view = persisted.view;
    liveView = view;
    const config = view.config;
    const backbone = await activeBackbone();
    if (view.backbone !== backbone.name) {
      throw new DearliError(
        'train-backbone',
        `this run trains on "${view.backbone}" but the loaded backbone is "${backbone.name}"`,
        'Load the same CLIP weights (Models tab) to resume it, or start a new run.',
      );
    }
    const categories = runCategories(config, await store.getDataset(db, config.trainDatasetIds[0]));
    const valDataset = config.validationDatasetId ? await store.getDataset(db, config.validationDatasetId) : undefined;
    const decoder = decoderConfig(config, backbone);
    // The names the run started with, not today's edits: a resume must not change the classifier.
    const classes = await backbone.classRows(view.classNames);
    const classifier = buildTextClassifier(classes.rows, backbone.embedDim, classes.synonymClass, categories.length);
    const model = new M2FLang(decoder, config.seed);
    const labeled = config.kind !== 'dewa';
    const trainer = createTrainer(labeled ? 'supervised' : 'dewa', model, classifier, config.iterations, config.seed, {
      learningRate: config.learningRate,
    });
    let meanTeacher: MeanTeacherTrainer | null = null;
    try {
      const refs = await samples.sampleRefs(config.trainDatasetIds, labeled);
      if (refs.length === 0)
        throw new DearliError(
          'train-empty',
          'the training datasets hold no usable images',
          labeled ? 'Import a labeled dataset.' : 'Run the SAM stage first.',
        );
      // Validation reads the panoptic labels: PQ for supervised and Mean Teacher runs, mask recall for DeWa.
      const valRefs: SampleRef[] = valDataset
        ? (await samples.sampleRefs([valDataset.id], true)).slice(0, Math.max(1, config.validationImages))
        : [];
      const plan = {
        kind: labeled ? ('supervised' as const) : ('dewa' as const),
        refs,
        batchSize: config.batchSize,
        cropSize: decoder.cropSize,
        maxTargets: decoder.numQueries,
        classOf: classIndex(categories),
      };
      const nextBatch = (_it: number, rng: Rng) => samples.trainingBatch(backbone, plan, rng);
      let stage: Stage<StageState>;
      if (config.kind === 'meanTeacher') {
        // DEARLi: DeWa weights into the student (the teacher copies them), a fresh optimizer, constant γ.
        if (config.dewaRunId && !persisted.stage) await loadDewaWeights(config, trainer);
        const unlabeledRefs = await samples.sampleRefs(config.unlabeledDatasetIds ?? [], false);
        if (unlabeledRefs.length === 0)
          throw new DearliError(
            'mt-no-unlabeled',
            'the Mean Teacher run has no unlabeled images',
            'Choose an unlabeled dataset (or a labeled one, whose labels it ignores).',
          );
        const trunk: FrozenTrunk = (images) => backbone.trunk.forwardFeatures(normalizeForClip(images));
        const mt = new MeanTeacherTrainer(
          trainer,
          trunk,
          backbone.clip,
          meanTeacherOptions(decoder.cropSize, decoder.numQueries, (k) => categories[k].isthing, {
            alpha: config.alpha ?? UPSTREAM_ENSEMBLE_ALPHA,
            ema: { kind: config.dewaRunId ? 'constant' : 'ramp', decay: config.emaDecay ?? UPSTREAM_EMA_DECAY },
            seed: config.seed,
          }),
        );
        meanTeacher = mt;
        liveTeacher = { view, teacher: mt.teacher.model, classifier, categories, backbone };
        stage = meanTeacherStage(mt, {
          totalIterations: config.iterations,
          unlabeledPerStep: config.batchSize,
          nextBatch,
          nextUnlabeled: async (count, rng) => {
            const items = [];
            for (let i = 0; i < count; i++) {
              const image = await samples.imageTensor(rng.pick(unlabeledRefs).imageId);
              items.push({ image, partner: await samples.imageTensor(rng.pick(unlabeledRefs).imageId) });
            }
            return items;
          },
          requestedAlpha: () =>
            view.requestedAlpha === undefined
              ? null
              : { alpha: view.requestedAlpha, source: view.requestedAlphaSource ?? 'slider' },
          adaptiveAlpha: config.adaptiveAlpha
            ? {
                every: adaptiveEvery(config.adaptiveAlpha, valRefs.length),
                bestAlpha: async () => {
                  const images = await sweepImages(samples, backbone, mt.teacher.model, classifier, valRefs);
                  return sweepFromCache(images, decoder.numQueries, categories).best.alpha;
                },
              }
            : null,
        }) as Stage<StageState>;
      } else {
        stage = decoderTrainingStage(config.kind, trainer, config.iterations, nextBatch) as Stage<StageState>;
      }
      let rate = 0;
      let runningMs = 0;
      let runningSteps = 0;
      /** Losses arrive one step late (and at saves); a point is plotted at the iteration count after its step. */
      const addLossPoint = (l: AppliedLoss) => {
        if (l.iteration + 1 <= (view.losses.at(-1)?.iteration ?? 0)) return;
        const point: LossPoint = {
          iteration: l.iteration + 1,
          total: l.total,
          classLoss: l.classLoss,
          maskLoss: l.maskLoss,
          diceLoss: l.diceLoss,
          learningRate: l.learningRate,
          iterationsPerSecond: rate,
        };
        if (meanTeacher && l.terms?.length === 2) {
          point.supervised = l.terms[0].total;
          point.unlabeled = l.terms[1].total;
          point.alpha = alphaAt(meanTeacher.alphaHistory, l.iteration);
        }
        view.losses.push(point);
      };

      const evaluate = async (iteration: number) => {
        if (valRefs.length === 0) return;
        if (config.kind === 'dewa') {
          const point = await evaluateMaskRecall(samples, backbone, model, classifier, valRefs, iteration);
          (view.recallEvals ??= []).push(point);
          return;
        }
        const { point, predictions } = await evaluateDecoder(
          samples,
          backbone,
          model,
          classifier,
          categories,
          valRefs,
          iteration,
          testTimeEnsembleAlpha(config),
        );
        view.evals.push(point);
        persisted.predictions = { predictions, categories };
        if (meanTeacher) {
          const teacher = await evaluateDecoder(
            samples,
            backbone,
            meanTeacher.teacher.model,
            classifier,
            categories,
            valRefs,
            iteration,
            testTimeEnsembleAlpha(config),
          );
          (view.teacherEvals ??= []).push(teacher.point);
        }
        lastPredictions = { runId, predictions, categories, classNames: view.classNames };
      };

      const withEval = timed(stage, async (state, ms, loss, { timings, pseudoSegments }) => {
        // The first step after a start or resume compiles kernels: it counts only until a second one is timed.
        if (runningSteps === 0 && rate === 0) rate = 1000 / ms;
        else {
          runningMs += ms;
          runningSteps++;
          rate = (1000 * runningSteps) / runningMs;
        }
        if (timings) {
          const dataMs = Math.max(
            0,
            ms -
              timings.forwardAndReadbackMs -
              timings.matchingMs -
              timings.lossAndUpdateMs -
              (timings.pseudoLabelsMs ?? 0),
          );
          view.timings = { ...timings, dataMs };
        }
        view.iteration = state.iteration;
        if (state.kind === 'meanTeacher') view.alphaHistory = state.alphaHistory;
        // Indexed by iteration, so steps replayed after a resume overwrite rather than repeat.
        if (pseudoSegments)
          (view.pseudoLabelSegments ??= [])[state.iteration - 1] =
            pseudoSegments.reduce((a, n) => a + n, 0) / pseudoSegments.length;
        if (loss) addLossPoint(loss);
        const atEnd = state.iteration >= config.iterations;
        if (atEnd || (config.evalEvery > 0 && state.iteration % config.evalEvery === 0))
          await evaluate(state.iteration);
        notify(view);
        onStep(view);
      });

      const stateStore: StateStore<StageState> = {
        load: async () => {
          const saved = persisted.stage;
          if (!saved) return null;
          if (saved.kind === 'meanTeacher')
            return { ...saved, checkpoint: await fromBlob(saved.checkpoint), teacher: await fromBlob(saved.teacher) };
          return { ...saved, checkpoint: await fromBlob(saved.checkpoint) };
        },
        save: async (state) => {
          persisted.stage =
            state.kind === 'meanTeacher'
              ? { ...state, checkpoint: toBlob(state.checkpoint), teacher: toBlob(state.teacher) }
              : { ...state, checkpoint: toBlob(state.checkpoint) };
          if (state.lastLoss) addLossPoint(state.lastLoss);
          view.iteration = state.iteration;
          await saveRun(runId, persisted);
        },
      };

      view.status = 'running';
      view.error = null;
      // Saved at once, not at the first save: the runs list reads the store and must show it running.
      await saveRun(runId, persisted);
      notify(view);
      const { outcome } = await run(withEval, stateStore, signal, () => {}, { saveEvery: SAVE_EVERY });
      view.status = outcome === 'finished' ? 'finished' : 'paused';
      await saveRun(runId, persisted);
      notify(view);
      return view;
    } finally {
      liveTeacher = null;
      meanTeacher?.dispose();
      trainer.dispose();
      model.dispose();
      disposeTextClassifier(classifier);
    }
  }

  /** Trains a stored run until it finishes or `signal` pauses it; a failure is recorded in the run. */
  async function train(
    runId: string,
    signal: AbortSignal,
    onStep: (view: RunView) => void = () => {},
  ): Promise<RunView> {
    runningId = runId;
    try {
      return await execute(runId, signal, onStep);
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

  /** The predictions in memory when `runId` trained in this session, else those stored with it. */
  async function predictionsOf(runId: string | undefined): Promise<typeof lastPredictions> {
    if (runId === undefined || lastPredictions?.runId === runId) return lastPredictions;
    const rec = await store.getRun<PersistedRun>(db, runId);
    if (!rec?.state.predictions) return null;
    return { runId, ...rec.state.predictions, classNames: (await withClassNames(rec.state.view)).classNames };
  }

  async function validationPredictions(limit: number, runId?: string): Promise<PredictionView[]> {
    const stored = await predictionsOf(runId);
    return stored ? predictionViews(db, stored, limit) : [];
  }

  const api: TrainingApi = {
    trainingPresets: async (batchSize, trainDatasetIds = []) => {
      const backbone = await activeBackbone();
      const shortEdge = await typicalShortEdge(db, trainDatasetIds);
      const presets: PresetView[] = backbone.presets.map((name) => {
        const c = decoderPreset(name, { trunkChannels: backbone.channels, embedDim: backbone.embedDim });
        return {
          name,
          parameterCount: parameterCount(c),
          estimatedMemoryBytes: estimateTrainingMemory(c, batchSize).totalBytes,
          cropSize: c.cropSize,
          proposed: proposedSettings(name, c.cropSize, shortEdge),
        };
      });
      return { backbone: backbone.name, presets };
    },

    startTraining: async (config) => {
      if (jobs.current)
        throw new DearliError(
          'train-busy',
          `${jobs.current} is in progress`,
          'Pause it before starting a training run.',
        );
      await preflightTraining(db, config);
      const view = await createRun(config);
      lastPredictions = null;
      strip = null;
      launch(view.id);
      return view;
    },

    pauseTraining: () => jobs.stop(JOB),

    resumeTraining: async (runId) => {
      if (jobs.current)
        throw new DearliError('train-busy', `${jobs.current} is in progress`, 'Pause it before resuming a run.');
      const persisted = await loadRun(runId);
      if (persisted.view.status === 'finished')
        throw new DearliError('train-finished', 'this run has finished', 'Start a new run.');
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

    sweepAlpha: () =>
      withTeacher(async ({ view, teacher, classifier, categories, backbone }) => {
        const valId = view.config.validationDatasetId;
        if (!valId)
          throw new DearliError(
            'mt-sweep-no-validation',
            'the run has no validation dataset',
            'Start a Mean Teacher run with a labeled validation dataset to sweep α.',
          );
        const refs = (await samples.sampleRefs([valId], true)).slice(0, Math.max(1, view.config.validationImages));
        const images = await sweepImages(samples, backbone, teacher, classifier, refs);
        const { points, best } = sweepFromCache(images, teacher.config.numQueries, categories);
        return { runId: view.id, iteration: view.iteration, images: images.length, points, best };
      }),

    pseudoLabelStrip: async (alpha, { count, refresh }) => {
      if (!(alpha >= 0 && alpha <= 1))
        throw new DearliError('mt-alpha', `α must lie between 0 and 1, got ${alpha}`, 'Choose α in [0, 1].');
      if (!strip || refresh || strip.count !== count) {
        strip = await withTeacher(async ({ view, teacher, classifier, categories, backbone }) => {
          const refs = (await samples.sampleRefs(view.config.unlabeledDatasetIds ?? [], false)).slice(0, count);
          const cache = await stripCache(samples, backbone, teacher, classifier, refs);
          return { runId: view.id, count, cache, categories, decoderRuns: (strip?.decoderRuns ?? 0) + 1 };
        });
      }
      return stripAt(strip.cache, alpha, strip.categories, strip.decoderRuns);
    },

    setAlpha: async (alpha, source = 'slider') => {
      if (!(alpha >= 0 && alpha <= 1))
        throw new DearliError('mt-alpha', `α must lie between 0 and 1, got ${alpha}`, 'Choose α in [0, 1].');
      if (runningId && liveView?.id === runningId) {
        liveView.requestedAlpha = alpha;
        liveView.requestedAlphaSource = source;
        notify(liveView);
        return;
      }
      const latest = await api.latestRun();
      if (!latest || latest.config.kind !== 'meanTeacher')
        throw new DearliError('mt-no-run', 'there is no Mean Teacher run', 'Start one first.');
      const persisted = await loadRun(latest.id);
      persisted.view.requestedAlpha = alpha;
      persisted.view.requestedAlphaSource = source;
      await saveRun(latest.id, persisted);
      notify(persisted.view);
    },
  };

  return {
    createRun,
    train,
    loadRun: async (runId: string) => (await loadRun(runId)).view,
    runningRunId: () => runningId,
    withClassNames,
    api,
  };
}

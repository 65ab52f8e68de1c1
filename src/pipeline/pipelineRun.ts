/**
 * "Run DEARLi", the whole pipeline as one resumable run: CLIP features → class-agnostic masks →
 * DeWa → Mean Teacher (starting from the DeWa run's weights). Its state (which step it is at, the training runs it made) is persisted before and after
 * every step, and each step is itself a resumable stage, so a run paused or interrupted anywhere
 * continues where it stopped. Features are computed only when CLIP weights are loaded (the offline
 * backbone has nothing to cache).
 */
import { DearliError } from '../core/errors';
import * as store from '../data/store';
import type { ClipService } from './clip';
import type { JobSlot } from './jobs';
import type { MaskService } from './masks';
import type { MaskStageSettings } from './masksApi';
import type { TrainingService } from './training';
import type { TrainingConfig } from './trainingApi';

const PIPELINE_STEPS = ['features', 'masks', 'dewa', 'meanTeacher'] as const;
type PipelineStep = (typeof PIPELINE_STEPS)[number];

export interface PipelineRunConfig {
  /** Datasets whose images get CLIP features and class-agnostic masks (the DeWa training set). */
  datasetIds: string[];
  maskSettings: MaskStageSettings;
  /** The DeWa run (it trains on `datasetIds`) and the Mean Teacher run (it starts from the DeWa run's weights). */
  dewa: Omit<TrainingConfig, 'kind' | 'trainDatasetIds' | 'validationDatasetId'>;
  meanTeacher: Omit<TrainingConfig, 'kind' | 'dewaRunId'>;
}

export interface PipelineRunState {
  id: string;
  config: PipelineRunConfig;
  /** Index into PIPELINE_STEPS of the step to run next; PIPELINE_STEPS.length when finished. */
  step: number;
  status: 'paused' | 'running' | 'finished' | 'failed';
  /** The training runs the DeWa and Mean Teacher steps made (kept so a resume continues them). */
  runIds: Partial<Record<'dewa' | 'meanTeacher', string>>;
  /** What each step reported when it ended ("skipped: no CLIP loaded", "12 computed, 3 reused"). */
  notes: Partial<Record<PipelineStep, string>>;
}

export interface PipelineProgress {
  step: PipelineStep;
  stepIndex: number;
  done: number;
  total: number;
  /** Seconds this step still needs at its pace so far (null until a unit is done). */
  etaSeconds: number | null;
}

export interface PipelineRunApi {
  /** Starts a new whole-pipeline run (or, with `resumeId`, continues a stored one) until it finishes or is paused. */
  runPipeline(
    config: PipelineRunConfig | { resumeId: string },
    onProgress: (p: PipelineProgress) => void,
  ): Promise<PipelineRunState>;
  pausePipeline(): Promise<void>;
  latestPipelineRun(): Promise<PipelineRunState | null>;
}

const PREFIX = 'pipeline:';
const JOB = 'the pipeline run';

export interface PipelineRunDeps {
  db: store.DearliDB;
  jobs: JobSlot;
  clip: ClipService;
  masks: MaskService;
  training: TrainingService;
}

export function createPipelineRun({ db, jobs, clip, masks, training }: PipelineRunDeps) {
  const save = (state: PipelineRunState) => store.putRun(db, { id: state.id, updatedAt: Date.now(), state });

  /** Runs one step; false when the signal paused it. */
  async function runStep(
    state: PipelineRunState,
    signal: AbortSignal,
    onProgress: (p: PipelineProgress) => void,
  ): Promise<boolean> {
    const step = PIPELINE_STEPS[state.step];
    const started = performance.now();
    let firstDone: number | null = null;
    const report = (done: number, total: number) => {
      // The pace counts from the first report, so work reused from before a pause does not skew it.
      firstDone ??= done;
      const fresh = done - firstDone;
      const etaSeconds = fresh > 0 ? ((performance.now() - started) / 1000 / fresh) * (total - done) : null;
      onProgress({ step, stepIndex: state.step, done, total, etaSeconds });
    };
    const { config } = state;
    if (step === 'features') {
      // A CLIP load under way (the page's start-up load of the chosen CLIP) decides whether there is one.
      await clip.settled();
      if (!clip.current()) {
        state.notes.features = 'skipped: no CLIP weights loaded';
        return true;
      }
      for (const id of config.datasetIds) {
        const r = await clip.featureStage(id, signal, (p) => report(p.done, p.total));
        if (r.paused) return false;
      }
      state.notes.features = 'done';
      return true;
    }
    if (step === 'masks') {
      const r = await masks.maskStage(config.datasetIds, config.maskSettings, signal, (p) => report(p.done, p.total));
      state.notes.masks = `${r.generator}: ${r.computed} computed, ${r.skipped} reused`;
      return !r.paused;
    }
    const kind = step;
    let runId = state.runIds[kind];
    if (!runId) {
      // DeWa validates on Mean Teacher's validation split, by class-agnostic mask recall.
      const trainingConfig: TrainingConfig =
        kind === 'dewa'
          ? {
              ...config.dewa,
              kind,
              trainDatasetIds: config.datasetIds,
              validationDatasetId: config.meanTeacher.validationDatasetId,
            }
          : { ...config.meanTeacher, kind, dewaRunId: state.runIds.dewa! };
      runId = (await training.createRun(trainingConfig)).id;
      state.runIds[kind] = runId;
      await save(state);
    }
    const view = await training.train(runId, signal, (v) => report(v.iteration, v.totalIterations));
    report(view.iteration, view.totalIterations);
    state.notes[kind] = `run ${runId}: ${view.iteration} of ${view.totalIterations} iterations`;
    return view.status === 'finished';
  }

  async function execute(
    state: PipelineRunState,
    signal: AbortSignal,
    onProgress: (p: PipelineProgress) => void,
  ): Promise<PipelineRunState> {
    state.status = 'running';
    await save(state);
    try {
      while (state.step < PIPELINE_STEPS.length) {
        if (signal.aborted || !(await runStep(state, signal, onProgress))) {
          state.status = 'paused';
          await save(state);
          return state;
        }
        state.step++;
        await save(state);
      }
      state.status = 'finished';
    } catch (e) {
      state.status = 'failed';
      throw e;
    } finally {
      await save(state);
    }
    return state;
  }

  async function load(id: string): Promise<PipelineRunState> {
    const rec = await store.getRun<PipelineRunState>(db, id);
    if (!rec)
      throw new DearliError('pipeline-missing-run', `pipeline run ${id} is not stored`, 'Start a new pipeline run.');
    return rec.state;
  }

  const api: PipelineRunApi = {
    runPipeline: async (request, onProgress) => {
      const state: PipelineRunState =
        'resumeId' in request
          ? await load(request.resumeId)
          : {
              id: `${PREFIX}${crypto.randomUUID()}`,
              config: request,
              step: 0,
              status: 'paused',
              runIds: {},
              notes: {},
            };
      if (state.status === 'finished') return state;
      return jobs.start(JOB, (signal) => execute(state, signal, onProgress));
    },
    pausePipeline: () => jobs.stop(JOB),
    latestPipelineRun: async () => {
      const runs = (await store.listRuns(db))
        .filter((r) => r.id.startsWith(PREFIX))
        .sort((a, b) => b.updatedAt - a.updatedAt);
      return (runs[0]?.state as PipelineRunState | undefined) ?? null;
    },
  };
  return { api };
}

import { create } from 'zustand';
import type { UserMessage } from '../../../workers/api';
import type {
  AlphaSweepView,
  PipelineProgress,
  PipelineRunConfig,
  PipelineRunState,
  PredictionView,
  PresetView,
  PseudoLabelStripView,
  RunComparison,
  RunSummary,
  RunView,
  TrainingConfig,
} from '../../../workers/api';
import { asMessage } from '../messages';
import { callback, pipeline } from '../pipeline';

interface TrainingState {
  backbone: string | null;
  presets: PresetView[];
  run: RunView | null;
  /** Every stored run (the runs list). */
  runs: RunSummary[];
  predictions: PredictionView[];
  message: UserMessage | null;
  busy: boolean;
  connect: () => Promise<void>;
  /** The presets and their proposals for the training datasets' images. */
  loadPresets: (batchSize: number, trainDatasetIds: string[]) => Promise<void>;
  start: (config: TrainingConfig) => Promise<void>;
  pause: () => Promise<void>;
  resume: () => Promise<void>;
  loadPredictions: () => Promise<void>;
  refreshRuns: () => Promise<void>;
  /** Shows a stored run (curves, predictions) so that it can be resumed. */
  openRun: (runId: string) => Promise<void>;
  renameRun: (runId: string, name: string) => Promise<void>;
  deleteRun: (runId: string) => Promise<void>;
  /** Runs picked on the runs list to compare, in the order picked, and their comparison. */
  compared: string[];
  comparison: RunComparison | null;
  toggleCompared: (runId: string) => Promise<void>;
  refreshComparison: () => Promise<void>;
  /** "Run DEARLi": the whole pipeline and its progress. */
  dearli: PipelineRunState | null;
  dearliProgress: PipelineProgress | null;
  runDearli: (config: PipelineRunConfig | null) => Promise<void>;
  pauseDearli: () => Promise<void>;
  /** Mean Teacher: α (asked for), the sweep and the pseudo-label strip. */
  alpha: number;
  /** From the slider, or the best α of the sweep (recorded as such in the run's α history). */
  setAlpha: (alpha: number, source?: 'slider' | 'sweep') => Promise<void>;
  sweep: AlphaSweepView | null;
  runSweep: () => Promise<void>;
  strip: PseudoLabelStripView | null;
  loadStrip: (refresh: boolean) => Promise<void>;
}

/** Unlabeled images in the pseudo-label strip. */
const STRIP_IMAGES = 3;

let connected = false;

export const useTrainingStore = create<TrainingState>((set, get) => ({
  backbone: null,
  presets: [],
  run: null,
  runs: [],
  predictions: [],
  message: null,
  busy: false,

  connect: async () => {
    if (connected) return;
    connected = true;
    let lastEvals = 0;
    let lastStatus = '';
    await pipeline().watchTraining(
      callback((run: RunView) => {
        set({ run, message: run.error });
        // New validation results: fetch the predictions the viewer shows.
        if (run.evals.length !== lastEvals) {
          lastEvals = run.evals.length;
          void get().loadPredictions();
          // The strip's teacher moved on: rerun it once per validation.
          if (run.config.kind === 'meanTeacher') void get().loadStrip(true);
        }
        if (run.status !== lastStatus) {
          lastStatus = run.status;
          void get().refreshRuns();
        }
      }),
    );
    const run = await pipeline().latestRun();
    set({ run, dearli: await pipeline().latestPipelineRun() });
    if (run?.config.kind === 'meanTeacher')
      set({ alpha: run.requestedAlpha ?? run.alphaHistory?.at(-1)?.alpha ?? run.config.alpha ?? 0.6 });
    await Promise.all([get().loadPredictions(), get().refreshRuns()]);
  },

  loadPresets: async (batchSize, trainDatasetIds) => {
    try {
      const { backbone, presets } = await pipeline().trainingPresets(batchSize, trainDatasetIds);
      set({ backbone, presets });
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },

  start: async (config) => {
    set({ busy: true, message: null, predictions: [] });
    try {
      set({ run: await pipeline().startTraining(config) });
      await get().refreshRuns();
    } catch (e) {
      set({ message: asMessage(e) });
    } finally {
      set({ busy: false });
    }
  },

  pause: async () => {
    set({ busy: true });
    try {
      await pipeline().pauseTraining();
      set({ run: await pipeline().latestRun() });
    } finally {
      set({ busy: false });
    }
  },

  resume: async () => {
    const run = get().run;
    if (!run) return;
    set({ busy: true, message: null });
    try {
      await pipeline().resumeTraining(run.id);
    } catch (e) {
      set({ message: asMessage(e) });
    } finally {
      set({ busy: false });
    }
  },

  loadPredictions: async () => {
    const runId = get().run?.id;
    set({ predictions: runId ? await pipeline().validationPredictions(8, runId) : [] });
  },

  refreshRuns: async () => {
    const runs = await pipeline().listTrainingRuns();
    // A deleted run leaves the comparison.
    const compared = get().compared.filter((id) => runs.some((r) => r.id === id));
    set({ runs, compared });
    await get().refreshComparison();
  },

  compared: [],
  comparison: null,
  toggleCompared: async (runId) => {
    const compared = get().compared;
    set({ compared: compared.includes(runId) ? compared.filter((id) => id !== runId) : [...compared, runId] });
    await get().refreshComparison();
  },
  refreshComparison: async () => {
    const ids = get().compared;
    try {
      const comparison = ids.length > 0 ? await pipeline().compareTrainingRuns(ids) : null;
      // A later pick may have answered first: keep only the answer for the runs picked now.
      if (get().compared === ids) set({ comparison });
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },

  openRun: async (runId) => {
    try {
      set({ run: await pipeline().trainingRun(runId), message: null, predictions: [] });
      await get().loadPredictions();
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },

  renameRun: async (runId, name) => {
    try {
      await pipeline().renameTrainingRun(runId, name);
      if (get().run?.id === runId) set({ run: await pipeline().trainingRun(runId) });
      await get().refreshRuns();
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },

  deleteRun: async (runId) => {
    try {
      await pipeline().deleteTrainingRun(runId);
      if (get().run?.id === runId) set({ run: null, predictions: [] });
      await get().refreshRuns();
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },

  dearli: null,
  dearliProgress: null,
  runDearli: async (config) => {
    const resumeId = get().dearli?.id;
    if (!config && !resumeId) return;
    set({
      busy: true,
      message: null,
      dearli: get().dearli && !config ? { ...get().dearli!, status: 'running' } : null,
    });
    try {
      const onProgress = callback((p: PipelineProgress) => set({ dearliProgress: p }));
      const state = await pipeline().runPipeline(config ?? { resumeId: resumeId! }, onProgress);
      set({ dearli: state });
    } catch (e) {
      set({ message: asMessage(e), dearli: await pipeline().latestPipelineRun() });
    } finally {
      set({ busy: false, run: await pipeline().latestRun() });
    }
  },
  pauseDearli: async () => {
    await pipeline().pausePipeline();
  },

  alpha: 0.6,
  setAlpha: async (alpha, source = 'slider') => {
    set({ alpha });
    try {
      if (get().run?.config.kind === 'meanTeacher') await pipeline().setAlpha(alpha, source);
      if (get().strip)
        set({ strip: await pipeline().pseudoLabelStrip(alpha, { count: STRIP_IMAGES, refresh: false }) });
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },
  sweep: null,
  runSweep: async () => {
    set({ busy: true, message: null });
    try {
      set({ sweep: await pipeline().sweepAlpha() });
    } catch (e) {
      set({ message: asMessage(e) });
    } finally {
      set({ busy: false });
    }
  },
  strip: null,
  loadStrip: async (refresh) => {
    try {
      set({ strip: await pipeline().pseudoLabelStrip(get().alpha, { count: STRIP_IMAGES, refresh }) });
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },
}));

import { create } from 'zustand';
import type { UserMessage } from '../../../workers/api';
import type { PredictionView, PresetView, RunView, TrainingConfig } from '../../../workers/api';
import { asMessage } from '../messages';
import { callback, pipeline } from '../pipeline';

interface TrainingState {
  backbone: string | null;
  presets: PresetView[];
  run: RunView | null;
  predictions: PredictionView[];
  message: UserMessage | null;
  busy: boolean;
  connect: () => Promise<void>;
  loadPresets: (batchSize: number) => Promise<void>;
  start: (config: TrainingConfig) => Promise<void>;
  pause: () => Promise<void>;
  resume: () => Promise<void>;
  loadPredictions: () => Promise<void>;
}

let connected = false;

export const useTrainingStore = create<TrainingState>((set, get) => ({
  backbone: null,
  presets: [],
  run: null,
  predictions: [],
  message: null,
  busy: false,

  connect: async () => {
    if (connected) return;
    connected = true;
    let lastEvals = 0;
    await pipeline().watchTraining(
      callback((run: RunView) => {
        set({ run, message: run.error });
        // New validation results: fetch the predictions the viewer shows.
        if (run.evals.length !== lastEvals) {
          lastEvals = run.evals.length;
          void get().loadPredictions();
        }
      }),
    );
    set({ run: await pipeline().latestRun() });
  },

  loadPresets: async (batchSize) => {
    try {
      const { backbone, presets } = await pipeline().trainingPresets(batchSize);
      set({ backbone, presets });
    } catch (e) {
      set({ message: asMessage(e) });
    }
  },

  start: async (config) => {
    set({ busy: true, message: null, predictions: [] });
    try {
      set({ run: await pipeline().startTraining(config) });
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
    set({ predictions: await pipeline().validationPredictions(8) });
  },
}));

import { create } from 'zustand';
import { useDatasetsStore } from './datasetsStore';
import { useMasksStore } from './masksStore';
import { useModelsStore } from './modelsStore';
import { useTrainingStore } from './trainingStore';

interface StorageState {
  usage: number | null;
  quota: number | null;
  refresh: () => Promise<void>;
}

/** Writes come in bursts (a training save every few steps, an import): one estimate per burst. */
const SETTLE_MS = 500;

/** The origin's usage and quota as the browser estimates them (navigator.storage.estimate()). */
export const useStorageStore = create<StorageState>((set) => ({
  usage: null,
  quota: null,
  refresh: async () => {
    if (!navigator.storage?.estimate) return;
    const { usage = 0, quota = 0 } = await navigator.storage.estimate();
    set({ usage, quota });
  },
}));

let watching = false;

/**
 * Estimates at start-up and again after every write the lab makes: an import or delete (datasets),
 * a mask stage, a saved model, a training save or status change.
 */
export function watchStorage(): void {
  if (watching) return;
  watching = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void useStorageStore.getState().refresh(), SETTLE_MS);
  };
  void useStorageStore.getState().refresh();
  useDatasetsStore.subscribe((s, prev) => {
    if (s.datasets !== prev.datasets) soon();
  });
  useMasksStore.subscribe(soon);
  useModelsStore.subscribe(soon);
  useTrainingStore.subscribe((s, prev) => {
    if (s.runs !== prev.runs || s.run?.losses.length !== prev.run?.losses.length) soon();
  });
}

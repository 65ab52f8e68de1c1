import { create } from 'zustand';
import type { DroppedFile, UserMessage } from '../../../workers/api';
import type {
  DatasetMaskStats,
  MaskGeneratorInfo,
  MaskStageProgress,
  MaskStageSettings,
  MaskStageSummary,
  MaskView,
  SamLoadRequest,
  Sa1bImportResult,
} from '../../../workers/api';
import { DEFAULT_MASK_SETTINGS, type ModelDownloadProgress } from '../../../workers/api';
import { attemptWithMessage } from '../messages';
import { callback, pipeline } from '../pipeline';

const SELECTION_KEY = 'dearli.masks.datasets';
const SETTINGS_KEY = 'dearli.masks.settings';

export { DEFAULT_MASK_SETTINGS };

function stored<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}

interface MasksState {
  generator: MaskGeneratorInfo | null;
  loading: boolean;
  download: ModelDownloadProgress | null;
  selected: string[];
  settings: MaskStageSettings;
  running: boolean;
  progress: MaskStageProgress | null;
  summary: MaskStageSummary | null;
  stats: DatasetMaskStats[];
  importResult: Sa1bImportResult | null;
  messages: UserMessage[];
  view: MaskView | null;
  refresh: (datasetIds: string[]) => Promise<void>;
  loadSam: (request: SamLoadRequest) => Promise<void>;
  unloadSam: () => Promise<void>;
  toggle: (datasetId: string) => void;
  setSettings: (settings: MaskStageSettings) => void;
  run: () => Promise<void>;
  pause: () => Promise<void>;
  importSa1b: (datasetId: string, files: DroppedFile[]) => Promise<void>;
  openView: (imageId: string | null) => Promise<void>;
  showMessage: (m: UserMessage) => void;
}

export const useMasksStore = create<MasksState>((set, get) => {
  /** Runs a worker call, turning its failure into a message. */
  const attempt = <T>(fn: () => Promise<T>) => attemptWithMessage(fn, (m) => set({ messages: [m] }));

  return {
    generator: null,
    loading: false,
    download: null,
    selected: stored<string[]>(SELECTION_KEY, []),
    // settings saved before a field existed take its default
    settings: { ...DEFAULT_MASK_SETTINGS, ...stored<Partial<MaskStageSettings>>(SETTINGS_KEY, {}) },
    running: false,
    progress: null,
    summary: null,
    stats: [],
    importResult: null,
    messages: [],
    view: null,

    refresh: async (datasetIds) => {
      await attempt(async () => {
        const [generator, stats] = await Promise.all([pipeline().maskGenerator(), pipeline().maskStats(datasetIds)]);
        set({ generator, stats });
      });
    },

    loadSam: async (request) => {
      set({ loading: true, download: null, messages: [] });
      await attempt(() =>
        pipeline().loadSam(
          request,
          callback((p: ModelDownloadProgress) => set({ download: p })),
        ),
      );
      set({
        loading: false,
        download: null,
        generator: await attempt<MaskGeneratorInfo>(() => pipeline().maskGenerator()),
      });
    },

    unloadSam: async () => {
      await pipeline().unloadSam();
      set({ generator: await pipeline().maskGenerator() });
    },

    toggle: (datasetId) => {
      const selected = get().selected.includes(datasetId)
        ? get().selected.filter((id) => id !== datasetId)
        : [...get().selected, datasetId];
      localStorage.setItem(SELECTION_KEY, JSON.stringify(selected));
      set({ selected });
    },

    setSettings: (settings) => {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
      set({ settings });
    },

    run: async () => {
      const { selected, settings } = get();
      set({ running: true, progress: null, summary: null, messages: [] });
      const summary = await attempt(() =>
        pipeline().runMaskStage(
          selected,
          settings,
          callback((p: MaskStageProgress) => set({ progress: p })),
        ),
      );
      set({ running: false, progress: null, summary });
      const ids = get().stats.map((s) => s.datasetId);
      await get().refresh(ids.length > 0 ? ids : selected);
    },

    pause: async () => {
      await pipeline().pauseMaskStage();
    },

    importSa1b: async (datasetId, files) => {
      set({ importResult: null, messages: [] });
      const importResult = await attempt(() => pipeline().importSa1bMasks(datasetId, files));
      set({ importResult });
      await get().refresh(get().stats.map((s) => s.datasetId));
    },

    openView: async (imageId) => {
      if (!imageId) return set({ view: null });
      const view = await attempt(() => pipeline().getMaskView(imageId));
      set({ view });
      if (view === null && !get().messages.length) {
        set({
          messages: [
            {
              code: 'notice-no-masks',
              problem: 'this image has no masks yet',
              fix: 'Run the mask stage on its dataset, or import SA-1B masks for it.',
            },
          ],
        });
      }
    },

    showMessage: (m) => set({ messages: [m] }),
  };
});

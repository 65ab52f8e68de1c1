import { create } from 'zustand';
import type { UserMessage } from '../../../workers/api';
import type {
  CachedFileSummary,
  ClassNames,
  ClipLoadRequest,
  FeatureStageSummary,
  LoadKind,
  ModelCard,
  ModelDownloadProgress,
  SavedModel,
  StageProgress,
  TextEmbeddingSummary,
  ZeroShotReport,
} from '../../../workers/api';
import { demoClipRequest } from '../../../workers/api';
import { attemptWithMessage } from '../messages';
import { callback, pipeline } from '../pipeline';

const DATASET_KEY = 'dearli.models.dataset';

/** public/demo-clip/ under Vite's base, as an absolute URL (the worker fetches it). */
const demoClipFolder = () => new URL(`${import.meta.env.BASE_URL}demo-clip/`, document.baseURI).href;

type StagePhase = 'idle' | 'features' | 'evaluating';

interface ModelsState {
  clipCard: ModelCard | null;
  loading: boolean;
  download: ModelDownloadProgress | null;
  saved: SavedModel[];
  cachedFiles: CachedFileSummary[];
  messages: UserMessage[];
  datasetId: string | null;
  classNames: ClassNames[];
  embeddings: TextEmbeddingSummary | null;
  stage: StagePhase;
  stageProgress: StageProgress | null;
  features: FeatureStageSummary | null;
  report: ZeroShotReport | null;
  refresh: () => Promise<void>;
  loadClip: (request: ClipLoadRequest) => Promise<void>;
  /** The shipped demo CLIP (public/demo-clip/), loaded like any CLIP from a URL. */
  loadDemoClip: () => Promise<void>;
  /** At page start (src/ui/main.tsx): the CLIP chosen last, the demo CLIP when none ever was. */
  restoreClip: () => Promise<void>;
  /** Loads a saved model (CLIP or SAM) from the cache; returns its card, or null on failure. */
  loadSaved: (id: string) => Promise<ModelCard | null>;
  cancelLoad: (kind: LoadKind) => Promise<void>;
  unloadClip: () => Promise<void>;
  freeSaved: (id: string) => Promise<void>;
  freeFile: (key: string) => Promise<void>;
  selectDataset: (id: string) => Promise<void>;
  saveClassNames: (classes: ClassNames[]) => Promise<void>;
  runFeatures: () => Promise<void>;
  evaluate: () => Promise<void>;
  cancelStage: () => Promise<void>;
  showMessage: (m: UserMessage) => void;
}

export const useModelsStore = create<ModelsState>((set, get) => {
  /** Runs a worker call, turning its failure into a message. */
  const attempt = <T>(fn: () => Promise<T>) => attemptWithMessage(fn, (m) => set({ messages: [m] }));

  return {
    clipCard: null,
    loading: false,
    download: null,
    saved: [],
    cachedFiles: [],
    messages: [],
    datasetId: localStorage.getItem(DATASET_KEY),
    classNames: [],
    embeddings: null,
    stage: 'idle',
    stageProgress: null,
    features: null,
    report: null,

    refresh: async () => {
      await attempt(async () => {
        const [clipCard, saved, cachedFiles] = await Promise.all([
          pipeline().currentClip(),
          pipeline().listSavedModels(),
          pipeline().listCachedFiles(),
        ]);
        set({ clipCard, saved, cachedFiles });
      });
    },

    loadClip: async (request) => {
      set({ loading: true, download: null, messages: [] });
      const card = await attempt(() =>
        pipeline().loadClip(
          request,
          callback((p: ModelDownloadProgress) => set({ download: p })),
        ),
      );
      set({ loading: false, download: null, ...(card ? { clipCard: card } : {}) });
      await get().refresh();
      if (card && get().datasetId) await get().selectDataset(get().datasetId!);
    },

    loadDemoClip: () => get().loadClip(demoClipRequest(demoClipFolder())),

    restoreClip: async () => {
      set({ loading: true, download: null });
      const card = await attempt(() =>
        pipeline().restoreClip(
          demoClipRequest(demoClipFolder()),
          callback((p: ModelDownloadProgress) => set({ download: p })),
        ),
      );
      set({ loading: false, download: null, ...(card ? { clipCard: card } : {}) });
      await get().refresh();
    },

    loadSaved: async (id) => {
      set({ loading: true, download: null, messages: [] });
      const card = await attempt(() =>
        pipeline().loadSavedModel(
          id,
          callback((p: ModelDownloadProgress) => set({ download: p })),
        ),
      );
      set({ loading: false, download: null });
      await get().refresh();
      return card;
    },

    cancelLoad: async (kind) => {
      await pipeline().cancelModelLoad(kind);
    },

    unloadClip: async () => {
      await pipeline().unloadClip();
      set({ embeddings: null });
      await get().refresh();
    },

    freeSaved: async (id) => {
      await attempt(() => pipeline().freeSavedModel(id));
      await get().refresh();
    },

    freeFile: async (key) => {
      await attempt(() => pipeline().freeCachedFile(key));
      await get().refresh();
    },

    selectDataset: async (id) => {
      localStorage.setItem(DATASET_KEY, id);
      set({ datasetId: id, classNames: [], embeddings: null, features: null, report: null });
      await attempt(async () => {
        const [classNames, report] = await Promise.all([
          pipeline().getClassNames(id),
          pipeline().lastZeroShotReport(id),
        ]);
        set({ classNames, report });
      });
    },

    saveClassNames: async (classes) => {
      const id = get().datasetId;
      if (!id) return;
      set({ messages: [] });
      const result = await attempt(async () => ({
        embeddings: await pipeline().setClassNames(id, classes),
        classNames: await pipeline().getClassNames(id),
      }));
      if (result) set(result);
    },

    runFeatures: async () => {
      const id = get().datasetId;
      if (!id) return;
      set({ stage: 'features', stageProgress: null, messages: [], features: null });
      const features = await attempt(() =>
        pipeline().runFeatureStage(
          id,
          callback((p: StageProgress) => set({ stageProgress: p })),
        ),
      );
      set({ stage: 'idle', stageProgress: null, features });
    },

    evaluate: async () => {
      const id = get().datasetId;
      if (!id) return;
      set({ stage: 'evaluating', stageProgress: null, messages: [] });
      const report = await attempt(() =>
        pipeline().evaluateZeroShot(
          id,
          callback((p: StageProgress) => set({ stageProgress: p })),
        ),
      );
      set({ stage: 'idle', stageProgress: null, ...(report ? { report } : {}) });
      if (report) set({ embeddings: await attempt(() => pipeline().textEmbeddings(id)) });
    },

    cancelStage: async () => {
      await pipeline().cancelStage();
    },

    showMessage: (m) => set({ messages: [m] }),
  };
});

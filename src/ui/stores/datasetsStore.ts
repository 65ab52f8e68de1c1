import { create } from 'zustand';
import type { DatasetRole, DatasetSummary, DroppedFile, ImportPreview, ImportProgress, StorageInfo, UserMessage } from '../../../workers/api';
import { asMessage } from '../messages';
import { callback, pipeline } from '../pipeline';

const DEMO_FLAG = 'dearli.demoLoaded';

type ImportPhase = 'idle' | 'scanning' | 'preview' | 'importing';

interface DatasetsState {
  datasets: DatasetSummary[];
  loaded: boolean;
  selectedId: string | null;
  viewerImageId: string | null;
  storage: StorageInfo | null;
  persisted: boolean | null;
  phase: ImportPhase;
  preview: ImportPreview | null;
  progress: (ImportProgress & { stage?: string }) | null;
  messages: UserMessage[];
  refresh: () => Promise<void>;
  loadDemoIfEmpty: () => Promise<void>;
  scan: (files: DroppedFile[]) => Promise<void>;
  commit: (name: string, role: DatasetRole) => Promise<void>;
  cancel: () => Promise<void>;
  dismissPreview: () => void;
  select: (id: string | null) => void;
  openImage: (id: string | null) => void;
  rename: (id: string, name: string) => Promise<void>;
  remove: (id: string) => Promise<void>;
  askPersistence: () => Promise<void>;
}

export const useDatasetsStore = create<DatasetsState>((set, get) => ({
  datasets: [],
  loaded: false,
  selectedId: null,
  viewerImageId: null,
  storage: null,
  persisted: null,
  phase: 'idle',
  preview: null,
  progress: null,
  messages: [],

  refresh: async () => {
    const [datasets, storage] = await Promise.all([pipeline().listDatasets(), pipeline().storageInfo()]);
    const persisted = navigator.storage?.persisted ? await navigator.storage.persisted() : null;
    const selectedId = datasets.some((d) => d.id === get().selectedId) ? get().selectedId : (datasets[0]?.id ?? null);
    set({ datasets, storage, persisted, loaded: true, selectedId });
  },

  loadDemoIfEmpty: async () => {
    // The demo is offered once per browser: a user who deletes it does not get it back on reload.
    if (localStorage.getItem(DEMO_FLAG)) return get().refresh();
    set({ phase: 'importing', progress: null });
    try {
      await pipeline().ensureDemoDatasets(callback((p) => set({ progress: p })));
      localStorage.setItem(DEMO_FLAG, '1');
    } catch (e) {
      set({ messages: [asMessage(e)] });
    } finally {
      set({ phase: 'idle', progress: null });
      await get().refresh();
    }
  },

  scan: async (files) => {
    set({ phase: 'scanning', preview: null, messages: [] });
    try {
      const preview = await pipeline().planImport(files);
      set({ phase: 'preview', preview, messages: [...preview.errors, ...preview.notices] });
    } catch (e) {
      set({ phase: 'idle', messages: [asMessage(e)] });
    }
  },

  commit: async (name, role) => {
    const preview = get().preview;
    if (!preview) return;
    set({ phase: 'importing', progress: { done: 0, total: preview.imageCount, bytes: 0, filesPerSecond: 0, etaSeconds: 0 } });
    try {
      const ds = await pipeline().commitImport(preview.planId, { name, role }, callback((p) => set({ progress: p })));
      set({ preview: null, messages: [], selectedId: ds.id });
    } catch (e) {
      set({ messages: [asMessage(e)] });
    } finally {
      set({ phase: get().preview ? 'preview' : 'idle', progress: null });
      await get().refresh();
    }
  },

  cancel: async () => {
    await pipeline().cancelImport();
  },

  dismissPreview: () => set({ phase: 'idle', preview: null, messages: [] }),
  select: (id) => set({ selectedId: id, viewerImageId: null }),
  openImage: (id) => set({ viewerImageId: id }),

  rename: async (id, name) => {
    await pipeline().renameDataset(id, name);
    await get().refresh();
  },

  remove: async (id) => {
    await pipeline().deleteDataset(id);
    await get().refresh();
  },

  askPersistence: async () => {
    const persisted = navigator.storage?.persist ? await navigator.storage.persist() : false;
    set({ persisted });
  },
}));

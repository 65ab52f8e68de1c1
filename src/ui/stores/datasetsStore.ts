import { create } from 'zustand';
import type {
  DatasetSummary,
  DroppedFile,
  ImportChoice,
  ImportPreview,
  ImportProgress,
  UserMessage,
} from '../../../workers/api';
import { asMessage } from '../messages';
import { callback, pipeline } from '../pipeline';

const DEMO_FLAG = 'dearli.demoLoaded';

type ImportPhase = 'idle' | 'scanning' | 'preview' | 'importing';

interface DatasetsState {
  datasets: DatasetSummary[];
  loaded: boolean;
  selectedId: string | null;
  viewerImageId: string | null;
  persisted: boolean | null;
  phase: ImportPhase;
  preview: ImportPreview | null;
  progress: (ImportProgress & { stage?: string }) | null;
  /** Problems that block an import (or ended one). */
  messages: UserMessage[];
  /** What an import leaves out or changes, without blocking it. */
  notices: UserMessage[];
  refresh: () => Promise<void>;
  loadDemoIfEmpty: () => Promise<void>;
  /** Plans an import of the dropped files; `dropped` names what was dropped, for when it holds no files. */
  scan: (files: DroppedFile[], dropped?: string[]) => Promise<void>;
  /** Imports the previewed splits, one choice per split. */
  commit: (choices: ImportChoice[]) => Promise<void>;
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
  persisted: null,
  phase: 'idle',
  preview: null,
  progress: null,
  messages: [],
  notices: [],

  refresh: async () => {
    const datasets = await pipeline().listDatasets();
    const persisted = navigator.storage?.persisted ? await navigator.storage.persisted() : null;
    const selectedId = datasets.some((d) => d.id === get().selectedId) ? get().selectedId : (datasets[0]?.id ?? null);
    set({ datasets, persisted, loaded: true, selectedId });
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

  scan: async (files, dropped = []) => {
    if (files.length === 0) {
      set({ phase: 'idle', preview: null, messages: [emptyDropMessage(dropped)], notices: [] });
      return;
    }
    set({ phase: 'scanning', preview: null, messages: [], notices: [] });
    try {
      const preview = await pipeline().planImport(files);
      set({
        phase: 'preview',
        preview,
        messages: [...preview.errors, ...preview.splits.flatMap((s) => s.errors)],
        notices: [...preview.notices, ...preview.splits.flatMap((s) => s.notices)],
      });
    } catch (e) {
      set({ phase: 'idle', messages: [asMessage(e)] });
    }
  },

  commit: async (choices) => {
    const preview = get().preview;
    if (!preview) return;
    const total = preview.splits.reduce((sum, s, i) => sum + (choices[i] ? s.imageCount : 0), 0);
    set({ phase: 'importing', progress: { done: 0, total, bytes: 0, filesPerSecond: 0, etaSeconds: 0 } });
    try {
      const datasets = await pipeline().commitImport(
        preview.planId,
        choices,
        callback((p) => set({ progress: p })),
      );
      set({ preview: null, messages: [], notices: [], selectedId: datasets[0]?.id ?? get().selectedId });
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

  dismissPreview: () => set({ phase: 'idle', preview: null, messages: [], notices: [] }),
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

/** A drop that yields no files at all (an empty folder) gets a message too, naming what was dropped. */
function emptyDropMessage(dropped: string[]): UserMessage {
  return {
    code: 'no-files',
    file: dropped.length ? dropped.map((name) => `${name}/`).join(', ') : undefined,
    problem:
      dropped.length === 1
        ? 'this folder holds no files.'
        : dropped.length
          ? 'these folders hold no files.'
          : 'the chosen folder holds no files.',
    fix: 'Drop or choose the dataset folder itself: the folder that holds the images, or the COCO annotations/ and image folders.',
  };
}

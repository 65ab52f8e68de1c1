import { create } from 'zustand';
import type { BackendInfo } from '../../../workers/api';
import { pipeline } from '../pipeline';

interface BackendState {
  info: BackendInfo | null;
  error: string | null;
  init: () => Promise<void>;
}

export const useBackendStore = create<BackendState>((set, get) => ({
  info: null,
  error: null,
  init: async () => {
    if (get().info) return;
    try {
      set({ info: await pipeline().init(), error: null });
    } catch (e) {
      set({ error: (e as Error).message });
    }
  },
}));

/** The UI's handle on the pipeline worker: one worker per page, wrapped by comlink. */
import * as Comlink from 'comlink';
import type { PipelineApi } from '../../workers/api';

let api: Comlink.Remote<PipelineApi> | null = null;

export function pipeline(): Comlink.Remote<PipelineApi> {
  if (!api) {
    const worker = new Worker(new URL('../../workers/pipeline.worker.ts', import.meta.url), {
      type: 'module',
      name: 'dearli-pipeline',
    });
    api = Comlink.wrap<PipelineApi>(worker);
  }
  return api;
}

/** Wraps a callback so the worker can call it across the boundary. */
export const callback = Comlink.proxy;

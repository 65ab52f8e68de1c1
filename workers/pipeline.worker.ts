/// <reference lib="webworker" />
/**
 * The pipeline worker: a thin comlink adapter over one LabSession (src/pipeline/session.ts), which
 * owns the GPU (tfjs), the lab's storage and the one active job. The session is made on the first
 * call, once the tfjs backend is up; every call's errors cross as user-facing messages.
 */
import * as Comlink from 'comlink';
import { toUserMessage } from '../src/core/errors';
import * as store from '../src/data/store';
import { initBackend } from '../src/models/backend';
import { openWeightCache } from '../src/models/weights/cache';
import type { PipelineApi } from '../src/pipeline/api';
import { browserImageDecoder } from '../src/pipeline/images';
import { LabSession } from '../src/pipeline/session';

let session: Promise<PipelineApi> | null = null;

function sessionApi(): Promise<PipelineApi> {
  return (session ??= (async () => {
    const [backend, db] = await Promise.all([initBackend(), store.openStore()]);
    return new LabSession({ backend, db, weightCache: openWeightCache(), decode: browserImageDecoder }).api();
  })());
}

/** comlink passes only an Error's message: carry the user-facing fields in it as JSON (see src/ui/messages.ts). */
async function call(method: keyof PipelineApi, args: unknown[]): Promise<unknown> {
  try {
    const api = await sessionApi();
    return await (api[method] as (...a: unknown[]) => Promise<unknown>)(...args);
  } catch (e) {
    throw new Error(JSON.stringify(toUserMessage(e)), { cause: e });
  }
}

/** Every method of the API, forwarded to the session; comlink needs own properties to call. */
const adapter = new Proxy({} as PipelineApi, {
  get:
    (_target, method) =>
    (...args: unknown[]) =>
      call(method as keyof PipelineApi, args),
});

Comlink.expose(adapter);

/** What every worker service shares: the one store handle and the error convention. */
import { toUserMessage } from '../src/core/errors';
import * as store from '../src/data/store';
import { initBackend, type BackendInfo } from '../src/models/backend';

let backend: Promise<BackendInfo> | null = null;

/**
 * The tfjs backend, initialised once (WebGPU first). Every service awaits it before touching
 * tfjs: after a reload the UI may call a service before it has asked for init().
 */
export function backendReady(): Promise<BackendInfo> {
  return (backend ??= initBackend());
}

let dbPromise: Promise<store.DearliDB> | null = null;

export function db(): Promise<store.DearliDB> {
  return (dbPromise ??= store.openStore());
}

/** comlink passes only an Error's message: carry the user-facing fields in it as JSON (see src/ui/messages.ts). */
export function userFacing<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw new Error(JSON.stringify(toUserMessage(e)), { cause: e });
    }
  };
}

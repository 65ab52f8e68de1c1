/** What every worker service shares: the one store handle and the error convention. */
import { toUserMessage } from '../src/core/errors';
import * as store from '../src/data/store';

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
      throw new Error(JSON.stringify(toUserMessage(e)));
    }
  };
}

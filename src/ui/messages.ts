import type { UserMessage } from '../../workers/api';

/** Reads the user-facing message out of an error thrown by the worker (see workers/pipeline.worker.ts). */
export function asMessage(e: unknown): UserMessage {
  const message = (e as { message?: string })?.message ?? String(e);
  try {
    const parsed = JSON.parse(message) as UserMessage;
    if (parsed && typeof parsed.problem === 'string') return parsed;
  } catch {
    // not a serialised user message: show the plain text
  }
  return { code: 'error', problem: message, fix: '' };
}

/** Runs a worker call; a failure becomes a user message passed to `show`, and the result null. */
export async function attemptWithMessage<T>(fn: () => Promise<T>, show: (m: UserMessage) => void): Promise<T | null> {
  try {
    return await fn();
  } catch (e) {
    show(asMessage(e));
    return null;
  }
}

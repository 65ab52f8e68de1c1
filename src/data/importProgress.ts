/** Cancellation and progress shared by both steps of import (planning and committing). */
import { problems } from './problems';
import type { ImportProgress } from './types';

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw problems.cancelled();
}

/** Progress counted one image at a time. */
export function progressTicker(
  total: number,
  onProgress: ((p: ImportProgress) => void) | undefined,
): (bytes: number) => void {
  const meter = progressMeter(total, onProgress);
  let done = 0;
  let bytes = 0;
  return (more) => meter(++done, (bytes += more));
}

/** Progress events, at most ~10 a second plus the last one, with rate and remaining time. */
export function progressMeter(
  total: number,
  onProgress: ((p: ImportProgress) => void) | undefined,
): (done: number, bytes: number) => void {
  const start = performance.now();
  let lastSent = -Infinity;
  return (done, bytes) => {
    if (!onProgress) return;
    const now = performance.now();
    if (done < total && now - lastSent < 100) return;
    lastSent = now;
    const seconds = Math.max((now - start) / 1000, 1e-3);
    const filesPerSecond = done / seconds;
    const etaSeconds = filesPerSecond > 0 ? (total - done) / filesPerSecond : 0;
    onProgress({ done, total, bytes, filesPerSecond, etaSeconds });
  };
}

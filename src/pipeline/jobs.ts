/**
 * The session's one active job (a stage, an evaluation, a training run): two jobs would compete for
 * the GPU and for the user's attention, so a second is refused until the first is paused or done.
 */
import { DearliError } from '../core/errors';

export class JobSlot {
  private active: { kind: string; abort: AbortController; done: Promise<unknown> } | null = null;

  get current(): string | null {
    return this.active?.kind ?? null;
  }

  /** Starts `work` as the job and returns its promise; the slot frees itself when it settles. */
  start<T>(kind: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.active) {
      throw new DearliError('busy', `${this.active.kind} is running`, `Pause or cancel it before starting ${kind}.`);
    }
    const abort = new AbortController();
    const done = work(abort.signal).finally(() => {
      if (this.active?.abort === abort) this.active = null;
    });
    this.active = { kind, abort, done };
    return done;
  }

  /** Stops the job (of this kind, when given) and waits until it has saved its state. */
  async stop(kind?: string): Promise<void> {
    const job = this.active;
    if (!job || (kind !== undefined && job.kind !== kind)) return;
    job.abort.abort();
    await job.done.catch(() => {});
  }
}

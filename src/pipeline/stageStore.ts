/** Stage states persisted in the runs store, and the rate/ETA of a running stage. */
import * as store from '../data/store';
import { run, type RunOutcome, type Stage, type StageProgress, type StateStore } from './runner';

function storedState<S>(db: store.DearliDB, id: string): StateStore<S> {
  return {
    load: async () => (await store.getRun<S>(db, id))?.state ?? null,
    save: async (state) => store.putRun(db, { id, updatedAt: Date.now(), state }),
  };
}

/**
 * Runs a stage whose state is kept under `id`: a paused run resumes; a finished one starts again
 * (its stored per-image results make the second pass cheap, and pick up what changed since).
 */
export async function runStoredStage<S>(
  db: store.DearliDB,
  id: string,
  stage: Stage<S>,
  signal: AbortSignal,
  report: (p: StageProgress) => void,
): Promise<{ outcome: RunOutcome; state: S }> {
  const persisted = storedState<S>(db, id);
  const previous = await persisted.load();
  if (previous !== null && stage.isDone(previous)) await store.deleteRun(db, id);
  return run(stage, persisted, signal, report);
}

/** Rate and ETA of a per-item stage, measured from its start. */
export class StageMeter {
  private readonly start = performance.now();
  constructor(
    readonly total: number,
    readonly label: string,
  ) {}

  progress(
    done: number,
    counted = done,
  ): { done: number; total: number; rate: number; etaSeconds: number; label: string } {
    const seconds = (performance.now() - this.start) / 1000;
    const rate = seconds > 0 ? counted / seconds : 0;
    return { done, total: this.total, rate, etaSeconds: rate > 0 ? (this.total - done) / rate : 0, label: this.label };
  }
}

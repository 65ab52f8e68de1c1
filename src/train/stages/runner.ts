/**
 * A resumable training stage: `run` loads the persisted state (or starts one), steps until done or
 * until `signal` aborts, and persists through an injected store. Pausing finishes the current
 * step first, so a stored state is always between two steps. Persistence itself (IndexedDB/OPFS)
 * belongs to the caller (the worker).
 */

export interface StateStore<S> {
  load(): Promise<S | null>;
  save(state: S): Promise<void>;
}

export interface StageProgress {
  iteration: number;
  totalIterations: number;
  /** What the stage wants to show (losses, timings…). */
  details?: Record<string, unknown>;
}

export interface Stage<S> {
  /** A fresh state when the store has none. */
  init(): Promise<S>;
  /** One iteration; returns the new state (may be the same object, mutated). */
  step(state: S): Promise<{ state: S; progress: StageProgress }>;
  isDone(state: S): boolean;
  /** Called before every save (e.g. flushes tensors into serialisable form). */
  beforeSave?(state: S): Promise<void>;
}

export type RunOutcome = 'finished' | 'paused';

export interface RunOptions {
  /** Save every this many steps as well as at pause/finish (0: only then). */
  saveEvery?: number;
}

export async function run<S>(
  stage: Stage<S>,
  store: StateStore<S>,
  signal: AbortSignal,
  report: (progress: StageProgress) => void,
  options: RunOptions = {},
): Promise<{ outcome: RunOutcome; state: S }> {
  let state: S = (await store.load()) ?? (await stage.init());
  const save = async () => {
    await stage.beforeSave?.(state);
    await store.save(state);
  };
  let sinceSave = 0;
  while (!stage.isDone(state)) {
    if (signal.aborted) {
      await save();
      return { outcome: 'paused', state };
    }
    const r = await stage.step(state);
    state = r.state;
    report(r.progress);
    sinceSave++;
    if (options.saveEvery && sinceSave >= options.saveEvery && !stage.isDone(state)) {
      await save();
      sinceSave = 0;
    }
  }
  await save();
  return { outcome: 'finished', state };
}

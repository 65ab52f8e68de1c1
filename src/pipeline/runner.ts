/**
 * The one runner every pipeline stage runs on (CLIP features, class-agnostic masks, DeWa, supervised
 * training, Mean Teacher): `run` loads the persisted state (or starts one), steps until done or until
 * `signal` aborts, and persists through an injected store. A pause between steps saves the state
 * after the last step; a pause that interrupts a step (a SAM image half done) saves the state before
 * it, so at most that one step is redone. Persistence itself (IndexedDB) belongs to the caller.
 */

export interface StateStore<S> {
  load(): Promise<S | null>;
  save(state: S): Promise<void>;
}

export interface StageProgress {
  /** Steps done (images, iterations) and the stage's total. */
  done: number;
  total: number;
  /** What the stage wants to show (losses, timings, the current image…). */
  details?: Record<string, unknown>;
}

export interface Stage<S> {
  /** A fresh state when the store has none. */
  init(): Promise<S>;
  /** One step; returns the new state. It may stop early by throwing once `signal` has aborted. */
  step(state: S, signal: AbortSignal): Promise<{ state: S; progress: StageProgress }>;
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
    let r: { state: S; progress: StageProgress };
    try {
      r = await stage.step(state, signal);
    } catch (e) {
      if (!signal.aborted) throw e;
      await save();
      return { outcome: 'paused', state };
    }
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

import { describe, expect, it } from 'vitest';
import { DearliError } from '../core/errors';
import { JobSlot } from './jobs';
import { run, type Stage, type StateStore } from './runner';

function memoryStore<S>(): StateStore<S> & { state: S | null } {
  const store = {
    state: null as S | null,
    load: async () => (store.state === null ? null : structuredClone(store.state)),
    save: async (s: S) => {
      store.state = structuredClone(s);
    },
  };
  return store;
}

/** Counts to `total`; the step that reaches `interruptAt` waits for the pause and then gives up, as a SAM image does. */
function counter(total: number, interruptAt = -1, pause?: AbortController): Stage<{ n: number; sum: number }> {
  return {
    init: async () => ({ n: 0, sum: 0 }),
    async step(state, signal) {
      if (state.n + 1 === interruptAt) {
        pause!.abort();
        signal.throwIfAborted();
      }
      const next = { n: state.n + 1, sum: state.sum + state.n + 1 };
      return { state: next, progress: { done: next.n, total } };
    },
    isDone: (s) => s.n >= total,
  };
}

describe('the stage runner', () => {
  it('a pause that interrupts a step saves the state before it; the resume redoes that step only', async () => {
    const store = memoryStore<{ n: number; sum: number }>();
    const pause = new AbortController();
    const seen: number[] = [];
    const first = await run(counter(5, 3, pause), store, pause.signal, (p) => seen.push(p.done));
    expect(first.outcome).toBe('paused');
    expect(store.state).toEqual({ n: 2, sum: 3 });
    const second = await run(counter(5), store, new AbortController().signal, (p) => seen.push(p.done));
    expect(second).toEqual({ outcome: 'finished', state: { n: 5, sum: 15 } });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('a step that fails without a pause fails the run and saves nothing', async () => {
    const store = memoryStore<{ n: number }>();
    const failing: Stage<{ n: number }> = {
      init: async () => ({ n: 0 }),
      step: async () => {
        throw new Error('broken image');
      },
      isDone: () => false,
    };
    await expect(run(failing, store, new AbortController().signal, () => {})).rejects.toThrow('broken image');
    expect(store.state).toBeNull();
  });

  it('saves every saveEvery steps', async () => {
    const saved: number[] = [];
    const store = { load: async () => null, save: async (s: { n: number }) => void saved.push(s.n) };
    await run(counter(5), store, new AbortController().signal, () => {}, { saveEvery: 2 });
    expect(saved).toEqual([2, 4, 5]);
  });
});

describe('the session job slot', () => {
  it('refuses a second job while one runs, and stop waits until the job has ended', async () => {
    const jobs = new JobSlot();
    let ended = false;
    const job = jobs.start(
      'the mask stage',
      (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => setTimeout(() => ((ended = true), resolve()), 5)),
        ),
    );
    expect(jobs.current).toBe('the mask stage');
    expect(() => jobs.start('training', async () => {})).toThrow(DearliError);
    await jobs.stop('training');
    expect(ended).toBe(false);
    await jobs.stop('the mask stage');
    expect(ended).toBe(true);
    await job;
    expect(jobs.current).toBeNull();
    await expect(jobs.start('training', async () => 7)).resolves.toBe(7);
  });
});

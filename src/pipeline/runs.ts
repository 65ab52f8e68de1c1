/**
 * The runs list: every training run stays in the runs store until the user deletes it, so starting
 * a run never discards another. A run that is training now can be neither renamed nor deleted (its
 * next save would write the old view back, or bring it back).
 */
import { DearliError } from '../core/errors';
import * as store from '../data/store';
import type { RunComparison, RunSummary, RunsApi } from './runsApi';
import { RUN_PREFIX, type PersistedRun, type TrainingService } from './training';
import type { RunView } from './trainingApi';

const MAX_NAME_LENGTH = 80;

/** The user's name, else one made from the stage and preset. */
const runName = (view: RunView) => view.name ?? `${view.config.kind} · ${view.config.preset}`;

/** The view as the list shows it: a run that was training when its page went away is paused. */
function asStored(view: RunView, runningId: string | null): RunView {
  return view.status === 'running' && view.id !== runningId ? { ...view, status: 'paused' } : view;
}

/** The runs' stored validations on one iteration axis; the final figures are each run's last validation. */
export function compareRuns(views: readonly RunView[]): RunComparison {
  const iterations = [...new Set(views.flatMap((v) => v.evals.map((e) => e.iteration)))].sort((a, b) => a - b);
  return {
    iterations,
    runs: views.map((v) => {
      const pqAt = new Map(v.evals.map((e) => [e.iteration, e.pq]));
      const last = v.evals.at(-1);
      return {
        id: v.id,
        name: runName(v),
        kind: v.config.kind,
        pq: iterations.map((it) => pqAt.get(it) ?? null),
        final: last
          ? {
              iteration: last.iteration,
              pq: last.pq,
              sq: last.sq,
              rq: last.rq,
              pqThings: last.pqThings,
              pqStuff: last.pqStuff,
              miou: last.miou,
            }
          : null,
      };
    }),
  };
}

export function createRunsService(db: store.DearliDB, training: TrainingService) {
  async function stored(runId: string): Promise<PersistedRun> {
    const rec = runId.startsWith(RUN_PREFIX) ? await store.getRun<PersistedRun>(db, runId) : undefined;
    if (!rec)
      throw new DearliError(
        'run-missing',
        `run ${runId} is not stored`,
        'Reload the runs list; it may have been deleted in another tab.',
      );
    return rec.state;
  }

  function refuseWhileTraining(runId: string, what: string): void {
    if (training.runningRunId() === runId)
      throw new DearliError('run-busy', `this run is training now and cannot be ${what}`, 'Pause it first.');
  }

  const api: RunsApi = {
    listTrainingRuns: async () => {
      const names = new Map((await store.listDatasets(db)).map((d) => [d.id, d.name]));
      const runs = (await store.listRuns(db))
        .filter((r) => r.id.startsWith(RUN_PREFIX))
        .sort((a, b) => b.updatedAt - a.updatedAt);
      return runs.map((rec): RunSummary => {
        const view = asStored((rec.state as PersistedRun).view, training.runningRunId());
        const pqs = view.evals.map((e) => e.pq);
        const ars = (view.recallEvals ?? []).map((e) => e.averageRecall);
        return {
          id: view.id,
          name: runName(view),
          kind: view.config.kind,
          preset: view.config.preset,
          datasets: view.config.trainDatasetIds.map((id) => names.get(id) ?? 'deleted dataset'),
          status: view.status,
          iteration: view.iteration,
          totalIterations: view.totalIterations,
          lastPq: pqs.at(-1) ?? null,
          bestPq: pqs.length > 0 ? Math.max(...pqs) : null,
          lastAr: ars.at(-1) ?? null,
          bestAr: ars.length > 0 ? Math.max(...ars) : null,
          updatedAt: rec.updatedAt,
        };
      });
    },

    trainingRun: async (runId) =>
      asStored(await training.withClassNames((await stored(runId)).view), training.runningRunId()),

    renameTrainingRun: async (runId, name) => {
      const trimmed = name.trim();
      if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) {
        throw new DearliError(
          'run-name',
          `a run name has 1 to ${MAX_NAME_LENGTH} characters (this one has ${trimmed.length})`,
          'Type another name.',
        );
      }
      refuseWhileTraining(runId, 'renamed');
      const persisted = await stored(runId);
      persisted.view.name = trimmed;
      const rec = await store.getRun(db, runId);
      // Renaming is not progress: the run keeps its place in the list.
      await store.putRun(db, { id: runId, updatedAt: rec?.updatedAt ?? Date.now(), state: persisted });
    },

    deleteTrainingRun: async (runId) => {
      refuseWhileTraining(runId, 'deleted');
      await stored(runId);
      await store.deleteRun(db, runId);
    },

    compareTrainingRuns: async (runIds) =>
      compareRuns(await Promise.all(runIds.map(async (id) => (await stored(id)).view))),
  };
  return { api };
}

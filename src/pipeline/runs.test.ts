/**
 * Runs kept side by side: a second run never discards the first, both resume, a rename and the last
 * validation predictions survive a reload, a delete removes one run only; and a stage that cannot
 * train is refused before any run is created.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { demoDatabase, sessionPool, trainAsJob } from '../../test/pipelineSession';
import { compareRuns } from './runs';
import type { RunView, TrainingConfig } from './trainingApi';

const pool = sessionPool();
afterEach(pool.closeAll);

const OPTIONS = { width: 32, height: 32, labeled: 2, unlabeled: 1, validation: 1, seed: 6 };

function config(ids: Record<string, string>, kind: TrainingConfig['kind'] = 'supervised'): TrainingConfig {
  return {
    kind,
    preset: 'tiny',
    cropSize: 32,
    trainDatasetIds: [kind === 'supervised' ? ids.labeled : ids.unlabeled],
    validationDatasetId: ids.validation,
    iterations: 2,
    batchSize: 1,
    evalEvery: 1,
    validationImages: 1,
    learningRate: 1e-3,
    seed: 5,
  };
}

describe('training runs list', () => {
  it('keeps two runs side by side, both resumable; names and predictions survive a reload; delete removes one', async () => {
    const { name, ids } = await demoDatabase(OPTIONS);
    const s = await pool.open(name);
    const first = await s.training.createRun(config(ids));
    expect(await trainAsJob(s, first.id, 1)).toMatchObject({ status: 'paused', iteration: 1 });
    const second = await s.training.createRun({ ...config(ids), seed: 9 });
    expect(await trainAsJob(s, second.id)).toMatchObject({ status: 'finished', iteration: 2 });

    const api = s.api();
    const listed = await api.listTrainingRuns();
    expect(listed.map((r) => [r.id, r.status, r.iteration])).toEqual([
      [second.id, 'finished', 2],
      [first.id, 'paused', 1],
    ]);
    const secondPqs = (await api.trainingRun(second.id)).evals.map((e) => e.pq);
    expect(secondPqs).toHaveLength(2);
    expect(listed[0]).toMatchObject({
      name: 'supervised · tiny',
      datasets: ['Demo · labeled'],
      lastPq: secondPqs[1],
      bestPq: Math.max(...secondPqs),
      totalIterations: 2,
    });
    expect(listed[0].lastPq).not.toBeNull();

    // Compared: one iteration axis; each run's curve and final figures are the evaluations it stored.
    const firstEvals = (await api.trainingRun(first.id)).evals;
    const secondEvals = (await api.trainingRun(second.id)).evals;
    const compared = await api.compareTrainingRuns([second.id, first.id]);
    expect(compared.iterations).toEqual([1, 2]);
    expect(compared.runs.map((r) => [r.id, r.pq])).toEqual([
      [second.id, secondPqs],
      [first.id, [firstEvals[0].pq, null]],
    ]);
    const { iteration, pq, sq, rq, pqThings, pqStuff, miou } = secondEvals[1];
    expect(compared.runs[0].final).toEqual({ iteration, pq, sq, rq, pqThings, pqStuff, miou });
    expect(compared.runs[1].final).toMatchObject({ iteration: 1, pq: firstEvals[0].pq, miou: firstEvals[0].miou });

    await api.renameTrainingRun(first.id, '  first try  ');
    await expect(api.renameTrainingRun(first.id, '   ')).rejects.toMatchObject({ code: 'run-name' });

    const reloaded = await pool.open(name);
    const again = reloaded.api();
    expect((await again.listTrainingRuns()).map((r) => r.name)).toEqual(['supervised · tiny', 'first try']);
    const predictions = await again.validationPredictions(8, second.id);
    expect(predictions.map((p) => [p.width, p.height, p.prediction.length])).toEqual([[32, 32, 32 * 32 * 4]]);
    expect(predictions[0].groundTruth).not.toBeNull();
    expect(await again.validationPredictions(8, first.id)).toHaveLength(1);

    expect(await trainAsJob(reloaded, first.id)).toMatchObject({ status: 'finished', iteration: 2, name: 'first try' });
    await again.deleteTrainingRun(second.id);
    expect((await again.listTrainingRuns()).map((r) => r.id)).toEqual([first.id]);
    await expect(again.trainingRun(second.id)).rejects.toMatchObject({ code: 'run-missing' });
  });

  it('compares runs validated at different iterations on one axis, nulls where a run has no validation', () => {
    const figures = (pq: number) => ({ pq, sq: pq + 0.1, rq: pq + 0.2, pqThings: pq, pqStuff: pq, miou: pq + 0.3 });
    const view = (id: string, evals: [number, number][], name?: string) =>
      ({
        id,
        name,
        config: { kind: 'meanTeacher', preset: 'tiny' },
        evals: evals.map(([iteration, pq]) => ({ iteration, images: 1, ...figures(pq), perClass: [] })),
      }) as unknown as RunView;
    const c = compareRuns([
      view('a', [
        [10, 0.1],
        [30, 0.25],
      ]),
      view(
        'b',
        [
          [20, 0.2],
          [30, 0.3],
        ],
        'DEARLi',
      ),
      view('c', []),
    ]);
    expect(c.iterations).toEqual([10, 20, 30]);
    expect(c.runs.map((r) => [r.name, r.pq])).toEqual([
      ['meanTeacher · tiny', [0.1, null, 0.25]],
      ['DEARLi', [null, 0.2, 0.3]],
      ['meanTeacher · tiny', [null, null, null]],
    ]);
    expect(c.runs.map((r) => r.final)).toEqual([
      { iteration: 30, ...figures(0.25) },
      { iteration: 30, ...figures(0.3) },
      null,
    ]);
  });

  it('refuses a stage whose inputs are missing, with counts and the fixing button, and creates no run', async () => {
    const { name, ids } = await demoDatabase(OPTIONS);
    const api = (await pool.open(name)).api();
    await expect(api.startTraining(config(ids, 'dewa'))).rejects.toMatchObject({
      code: 'preflight-no-masks',
      problem: expect.stringContaining('1 of 1 image'),
      fix: expect.stringContaining('"Run mask stage"'),
    });
    await expect(api.startTraining({ ...config(ids), trainDatasetIds: [ids.unlabeled] })).rejects.toMatchObject({
      code: 'preflight-no-labels',
    });
    await expect(api.startTraining({ ...config(ids), trainDatasetIds: [] })).rejects.toMatchObject({
      code: 'preflight-no-dataset',
    });
    expect(await api.listTrainingRuns()).toEqual([]);
  });
});

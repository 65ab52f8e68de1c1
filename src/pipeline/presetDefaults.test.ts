/**
 * The tiny preset's proposed settings learn: a run on the demo world (its default image size) with
 * exactly the preset's proposal ends with validation PQ above 10%. Under the old defaults (lr 1e-4,
 * 200 iterations, crop 64) PQ stayed at 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';

const pool = sessionPool();
afterEach(pool.closeAll);

const LONG = 10 * 60_000;

describe('preset defaults', () => {
  it('the tiny preset proposes settings under which validation PQ rises above 10% on the demo', { timeout: LONG }, async () => {
    const { name, ids } = await demoDatabase({ labeled: 8, unlabeled: 0, validation: 2, seed: 1 });
    const s = await pool.open(name);
    const api = s.api();
    const tiny = (await api.trainingPresets(2)).presets.find((p) => p.name === 'tiny')!;
    const iterations = Number(process.env.DEARLI_DEFAULTS_ITERS ?? tiny.proposed.iterations);
    const view = await s.training.createRun({
      kind: 'supervised',
      preset: 'tiny',
      cropSize: tiny.proposed.cropSize,
      learningRate: tiny.proposed.learningRate,
      iterations,
      trainDatasetIds: [ids.labeled],
      validationDatasetId: ids.validation,
      batchSize: 2,
      evalEvery: 0,
      validationImages: 2,
      seed: 1,
    });
    const t0 = performance.now();
    const done = await s.jobs.start('training', (signal) => s.training.train(view.id, signal));
    console.log(`tiny preset, ${iterations} iterations: ${((performance.now() - t0) / 1000).toFixed(0)} s, PQ ${(100 * done.evals.at(-1)!.pq).toFixed(1)}`);
    expect(done.status).toBe('finished');
    expect(done.evals.at(-1)!.pq).toBeGreaterThan(0.1);
  });
});

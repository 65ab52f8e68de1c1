/**
 * Validation with test-time ensembling (review §5b): from one forward, the student alone and the
 * student ⊗ CLIP ensemble are both scored. With α = 1 (no weight on CLIP) the ensemble is the student.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';
import type { TrainingConfig } from './trainingApi';

const pool = sessionPool();
afterEach(pool.closeAll);

describe('validation with test-time ensembling', () => {
  it('scores the student alone and ensembled; α = 1 leaves the student unchanged, null turns it off', async () => {
    const { name, ids } = await demoDatabase({
      width: 32,
      height: 32,
      labeled: 1,
      unlabeled: 0,
      validation: 2,
      seed: 3,
    });
    const session = await pool.open(name);
    const config = (alpha: number | null): TrainingConfig => ({
      kind: 'supervised',
      preset: 'tiny',
      cropSize: 32,
      trainDatasetIds: [ids.labeled],
      validationDatasetId: ids.validation,
      iterations: 1,
      batchSize: 1,
      evalEvery: 0,
      validationImages: 2,
      learningRate: 1e-4,
      seed: 5,
      testTimeEnsembleAlpha: alpha,
    });
    const evalOf = async (alpha: number | null) => {
      const run = await session.training.createRun(config(alpha));
      const view = await session.training.train(run.id, new AbortController().signal);
      expect(view.evals).toHaveLength(1);
      return view.evals[0];
    };
    const student = await evalOf(1);
    expect(student.images).toBe(2);
    const { alpha, ...ensembled } = student.ensembled!;
    expect(alpha).toBe(1);
    for (const key of ['pq', 'sq', 'rq', 'pqThings', 'pqStuff', 'miou'] as const)
      expect(ensembled[key]).toBeCloseTo(student[key], 6);
    const off = await evalOf(null);
    expect(off.ensembled).toBeUndefined();
    expect(off.pq).toBe(student.pq);
  });
});

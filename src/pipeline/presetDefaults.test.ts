/**
 * Defaults that learn: a newcomer who keeps the tiny preset's proposal (read from the presets the
 * session offers, as the Train form does) sees validation PQ rise on the demo. The demo is generated
 * at 32×32 px (the app's is 256) so that the run fits the test budget on two CPU cores; for images
 * that small the proposal's crop is 32.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';
import { dearliProposal, proposedSettings } from './presetDefaults';

const pool = sessionPool();
afterEach(pool.closeAll);

/** The Train form's own batch size and seed (the proposal does not set them). */
const FORM_BATCH = 2;
const FORM_SEED = 1;
const LONG = 30 * 60_000;

describe('proposed settings', () => {
  it('cap the crop at the training images’ short edge, in multiples of 32', () => {
    expect(proposedSettings('tiny', 64, null).cropSize).toBe(64);
    expect(proposedSettings('tiny', 64, 256).cropSize).toBe(64);
    expect(proposedSettings('tiny', 64, 100).cropSize).toBe(64);
    expect(proposedSettings('tiny', 64, 50).cropSize).toBe(32);
    expect(proposedSettings('tiny', 64, 20).cropSize).toBe(32);
    expect(proposedSettings('paper', 640, 300).cropSize).toBe(288);
    expect(proposedSettings('paper', 640, 1024)).toEqual({
      learningRate: 1e-3,
      cropSize: 640,
      iterations: 200,
      dearli: dearliProposal(200),
    });
  });

  it(
    'train the tiny preset on the demo to validation PQ > 10 at the end',
    async () => {
      const { name, ids } = await demoDatabase({ width: 32, height: 32 });
      const session = await pool.open(name);
      const { presets } = await session.api().trainingPresets(FORM_BATCH, [ids.labeled]);
      const tiny = presets.find((p) => p.name === 'tiny')!;
      expect(tiny.proposed.cropSize).toBe(32);
      const run = await session.training.createRun({
        kind: 'supervised',
        preset: 'tiny',
        ...tiny.proposed,
        trainDatasetIds: [ids.labeled],
        validationDatasetId: ids.validation,
        batchSize: FORM_BATCH,
        seed: FORM_SEED,
        evalEvery: 0,
        validationImages: 16,
      });
      const view = await session.training.train(run.id, new AbortController().signal);
      expect(view).toMatchObject({ status: 'finished', iteration: tiny.proposed.iterations });
      const last = view.evals.at(-1)!;
      console.log(
        `validation PQ ${(100 * last.pq).toFixed(1)} on ${last.images} images after ${last.iteration} iterations`,
      );
      expect(last.images).toBe(16);
      expect(last.pq).toBeGreaterThan(0.1);
    },
    LONG,
  );
});

/**
 * The whole pipeline (features → masks → DeWa → supervised) as one session method: paused in the
 * middle of DeWa, the session recreated and the run resumed, it ends where an uninterrupted run ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as store from '../data/store';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';
import { DEFAULT_MASK_SETTINGS } from './masksApi';
import type { PipelineRunConfig, PipelineRunState } from './pipelineRun';
import type { LabSession } from './session';
import type { RunView } from './trainingApi';

const pool = sessionPool();
const session = pool.open;
afterEach(pool.closeAll);

const training = { preset: 'tiny', cropSize: 32, iterations: 2, batchSize: 1, evalEvery: 0, validationImages: 1, learningRate: 1e-4, seed: 8 };

function config(ids: Record<string, string>): PipelineRunConfig {
  return {
    datasetIds: [ids.labeled, ids.unlabeled],
    maskSettings: { ...DEFAULT_MASK_SETTINGS, pointsPerSide: 8 },
    dewa: training,
    supervised: { ...training, trainDatasetIds: [ids.labeled], validationDatasetId: ids.validation },
  };
}

async function runView(s: LabSession, runId: string): Promise<RunView> {
  return (await store.getRun<{ view: RunView }>(s.platform.db, runId))!.state.view;
}

describe('whole pipeline run', () => {
  it('resumes where it stopped and ends as an uninterrupted run does', async () => {
    const options = { width: 32, height: 32, labeled: 2, unlabeled: 2, validation: 1, seed: 9 };
    const whole = await demoDatabase(options);
    const a = await session(whole.name);
    const expected = await a.api().runPipeline(config(whole.ids), () => {});
    expect(expected).toMatchObject({ status: 'finished', step: 4 });
    expect(expected.notes.features).toBe('skipped: no CLIP weights loaded');
    expect(expected.notes.masks).toBe('fallback: 4 computed, 0 reused');
    const expectedSupervised = await runView(a, expected.runIds.supervised!);
    expect(expectedSupervised).toMatchObject({ status: 'finished', iteration: 2 });
    expect(expectedSupervised.evals).toHaveLength(1);

    const split = await demoDatabase(options);
    const b = await session(split.name);
    await b.api().watchTraining((view) => {
      if (view.config.kind === 'dewa' && view.iteration === 1) void b.api().pausePipeline();
    });
    const paused = await b.api().runPipeline(config(split.ids), () => {});
    expect(paused).toMatchObject({ status: 'paused', step: 2 });
    expect((await runView(b, paused.runIds.dewa!)).iteration).toBe(1);

    const c = await session(split.name);
    const latest = (await c.api().latestPipelineRun()) as PipelineRunState;
    expect(latest.id).toBe(paused.id);
    const resumed = await c.api().runPipeline({ resumeId: latest.id }, () => {});
    expect(resumed).toMatchObject({ status: 'finished', step: 4, runIds: { dewa: paused.runIds.dewa } });
    const curve = (v: RunView) => v.losses.map(({ iterationsPerSecond: _, ...rest }) => rest);
    for (const kind of ['dewa', 'supervised'] as const) {
      expect(curve(await runView(c, resumed.runIds[kind]!))).toEqual(curve(await runView(a, expected.runIds[kind]!)));
    }
    expect((await runView(c, resumed.runIds.supervised!)).evals.map(({ iteration, pq, miou }) => ({ iteration, pq, miou }))).toEqual(
      expectedSupervised.evals.map(({ iteration, pq, miou }) => ({ iteration, pq, miou })),
    );
  });
});

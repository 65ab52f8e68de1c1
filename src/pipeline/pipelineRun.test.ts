/**
 * "Run DEARLi" (features → masks → DeWa → Mean Teacher) as one session method: paused in the middle
 * of DeWa, or of Mean Teacher, the session recreated and the run resumed, it ends where an
 * uninterrupted run ends; the Mean Teacher run starts from the DeWa run's weights.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as store from '../data/store';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';
import { DEFAULT_MASK_SETTINGS } from './masksApi';
import type { PipelineProgress, PipelineRunConfig, PipelineRunState } from './pipelineRun';
import { dearliProposal, proposedSettings } from './presetDefaults';
import type { LabSession } from './session';
import type { RunView } from './trainingApi';

const pool = sessionPool();
const session = pool.open;
afterEach(pool.closeAll);

const training = {
  preset: 'tiny',
  cropSize: 32,
  iterations: 2,
  batchSize: 1,
  evalEvery: 0,
  validationImages: 1,
  learningRate: 1e-4,
  seed: 8,
};

function config(ids: Record<string, string>): PipelineRunConfig {
  return {
    datasetIds: [ids.labeled, ids.unlabeled],
    maskSettings: { ...DEFAULT_MASK_SETTINGS, pointsPerSide: 8 },
    dewa: training,
    meanTeacher: {
      ...training,
      trainDatasetIds: [ids.labeled],
      unlabeledDatasetIds: [ids.unlabeled],
      validationDatasetId: ids.validation,
    },
  };
}

async function runView(s: LabSession, runId: string): Promise<RunView> {
  return (await store.getRun<{ view: RunView }>(s.platform.db, runId))!.state.view;
}

describe('whole pipeline run', () => {
  it('resumes where it stopped (in DeWa, then in Mean Teacher) and ends as an uninterrupted run does', async () => {
    const options = { width: 32, height: 32, labeled: 2, unlabeled: 2, validation: 1, seed: 9 };
    const whole = await demoDatabase(options);
    const a = await session(whole.name);
    const progress: PipelineProgress[] = [];
    const expected = await a.api().runPipeline(config(whole.ids), (p) => progress.push(p));
    expect(expected).toMatchObject({ status: 'finished', step: 4 });
    expect(expected.notes.features).toBe('skipped: no CLIP weights loaded');
    expect(expected.notes.masks).toBe('fallback: 4 computed, 0 reused');
    expect([...new Set(progress.map((p) => p.step))]).toEqual(['masks', 'dewa', 'meanTeacher']);
    const mtProgress = progress.filter((p) => p.step === 'meanTeacher');
    expect(mtProgress.map((p) => p.done)).toEqual([1, 2, 2]);
    expect(mtProgress[0].etaSeconds).toBeNull();
    expect(mtProgress[1].etaSeconds).toBe(0);
    const expectedMt = await runView(a, expected.runIds.meanTeacher!);
    expect(expectedMt).toMatchObject({ status: 'finished', iteration: 2, config: { dewaRunId: expected.runIds.dewa } });
    expect(expectedMt.evals).toHaveLength(1);
    expect(expectedMt.teacherEvals).toHaveLength(1);
    // DeWa validates on the Mean Teacher's validation split by class-agnostic mask recall, not PQ.
    const expectedDewa = await runView(a, expected.runIds.dewa!);
    expect(expectedDewa.evals).toHaveLength(0);
    expect(expectedDewa.recallEvals).toHaveLength(1);
    const validationImage = (await store.listImages(a.platform.db, whole.ids.validation, 0, 1))[0];
    expect(expectedDewa.recallEvals![0]).toMatchObject({
      iteration: 2,
      images: 1,
      masks: validationImage.segments!.length,
    });
    // The runs list shows that recall where a DeWa run has no PQ.
    const ar = expectedDewa.recallEvals![0].averageRecall;
    expect((await a.api().listTrainingRuns()).find((r) => r.id === expected.runIds.dewa)).toMatchObject({
      lastPq: null,
      lastAr: ar,
      bestAr: ar,
    });
    // Its bundle's card lists the chain that made the weights, each stage with its recipe.
    const bundle = await a.api().exportModelBundle(expected.runIds.meanTeacher!);
    const card = JSON.parse(await bundle.files.find((f) => f.path === 'model.json')!.content.text());
    const recipe = { iterations: 2, batch: 1, cropSize: 32, learningRate: 1e-4 };
    expect(card.stages).toEqual([
      { kind: 'dewa', ...recipe },
      {
        kind: 'meanTeacher',
        ...recipe,
        alpha: 0.6,
        alphaHistory: [{ iteration: 0, alpha: 0.6, source: 'config' }],
        emaDecay: 0.999,
        startedFrom: 'dewa',
      },
    ]);

    const split = await demoDatabase(options);
    const b = await session(split.name);
    await b.api().watchTraining((view) => {
      if (view.config.kind === 'dewa' && view.iteration === 1) void b.api().pausePipeline();
    });
    const paused = await b.api().runPipeline(config(split.ids), () => {});
    expect(paused).toMatchObject({ status: 'paused', step: 2 });
    expect((await runView(b, paused.runIds.dewa!)).iteration).toBe(1);

    const c = await session(split.name);
    await c.api().watchTraining((view) => {
      if (view.config.kind === 'meanTeacher' && view.iteration === 1) void c.api().pausePipeline();
    });
    const latest = (await c.api().latestPipelineRun()) as PipelineRunState;
    expect(latest.id).toBe(paused.id);
    const pausedInMt = await c.api().runPipeline({ resumeId: latest.id }, () => {});
    expect(pausedInMt).toMatchObject({ status: 'paused', step: 3 });

    const d = await session(split.name);
    const resumed = await d.api().runPipeline({ resumeId: latest.id }, () => {});
    expect(resumed).toMatchObject({
      status: 'finished',
      step: 4,
      runIds: { dewa: paused.runIds.dewa, meanTeacher: pausedInMt.runIds.meanTeacher },
    });
    const curve = (v: RunView) => v.losses.map(({ iterationsPerSecond: _, ...rest }) => rest);
    for (const kind of ['dewa', 'meanTeacher'] as const) {
      expect(curve(await runView(d, resumed.runIds[kind]!))).toEqual(curve(await runView(a, expected.runIds[kind]!)));
    }
    const figures = (v: RunView) =>
      [...v.evals, ...(v.teacherEvals ?? [])].map(({ iteration, pq, miou, ensembled }) => ({
        iteration,
        pq,
        miou,
        ensembled,
      }));
    expect(figures(await runView(d, resumed.runIds.meanTeacher!))).toEqual(figures(expectedMt));
    expect((await runView(d, resumed.runIds.dewa!)).recallEvals).toEqual(expectedDewa.recallEvals);
  });
});

describe("Run DEARLi's proposal", () => {
  it('DeWa as long as Mean Teacher; γ keeps the teacher horizon 1/(1−γ) at a tenth of the run, at most upstream 0.999', () => {
    expect(dearliProposal(200)).toEqual({ dewaIterations: 200, emaDecay: 1 - 10 / 200 });
    expect(1 / (1 - dearliProposal(200).emaDecay)).toBeCloseTo(20, 9);
    expect(dearliProposal(50_000).emaDecay).toBe(0.999);
    expect(dearliProposal(5).emaDecay).toBe(0);
    expect(proposedSettings('tiny', 64, null).dearli).toEqual(
      dearliProposal(proposedSettings('tiny', 64, null).iterations),
    );
  });
});

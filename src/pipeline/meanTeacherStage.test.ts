/**
 * The Mean Teacher stage in a session, in Node: a run to the end equals a run paused mid-way, the
 * session recreated on the same storage and resumed (student with moments, teacher, α history: bit
 * for bit); an α change applies from the next iteration and is recorded; a DeWa run of another
 * preset is refused.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import * as store from '../data/store';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';
import { DEFAULT_MASK_SETTINGS } from './masksApi';
import type { LabSession } from './session';
import type { RunView, TrainingConfig } from './trainingApi';

const pool = sessionPool();
afterEach(pool.closeAll);

const DEMO = { width: 32, height: 32, labeled: 2, unlabeled: 2, validation: 1, seed: 4 };

function mtConfig(ids: Record<string, string>, over: Partial<TrainingConfig> = {}): TrainingConfig {
  return {
    kind: 'meanTeacher',
    preset: 'tiny',
    cropSize: 32,
    trainDatasetIds: [ids.labeled],
    unlabeledDatasetIds: [ids.unlabeled],
    validationDatasetId: ids.validation,
    iterations: 4,
    batchSize: 1,
    evalEvery: 2,
    validationImages: 1,
    learningRate: 1e-4,
    seed: 7,
    ...over,
  };
}

/** Trains as the session's job; α → 0.3 once iteration 1 is done (so from 0-based iteration 1) unless `manualAlpha` is false; `pauseAt` pauses after that iteration. */
async function train(s: LabSession, runId: string, pauseAt?: number, manualAlpha = true): Promise<RunView> {
  const abort = new AbortController();
  await s.training.api.watchTraining((view) => {
    if (manualAlpha && view.iteration === 1 && view.requestedAlpha === undefined) void s.training.api.setAlpha(0.3);
    if (view.iteration === pauseAt) abort.abort();
  });
  return s.jobs.start('training', (signal) => {
    signal.addEventListener('abort', () => abort.abort());
    return s.training.train(runId, abort.signal);
  });
}

async function storedState(s: LabSession, runId: string): Promise<{ student: number[]; teacher: number[] }> {
  const rec = await store.getRun<{ stage: { checkpoint: Blob; teacher: Blob } }>(s.platform.db, runId);
  const bytes = async (b: Blob) => Array.from(new Uint8Array(await b.arrayBuffer()));
  return { student: await bytes(rec!.state.stage.checkpoint), teacher: await bytes(rec!.state.stage.teacher) };
}

describe('Mean Teacher stage', () => {
  it('paused, reloaded and resumed, it ends with the same student, teacher and curves as an uninterrupted run', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const prepare = async () => {
      const db = await demoDatabase(DEMO);
      const s = await pool.open(db.name);
      return { db, s, runId: (await s.training.createRun(mtConfig(db.ids))).id };
    };
    const whole = await prepare();
    const expected = await train(whole.s, whole.runId);
    expect(expected.status).toBe('finished');
    // Adaptive α is off by default: only the user's change is recorded.
    expect(expected.config.adaptiveAlpha).toBeUndefined();
    expect(expected.alphaHistory).toEqual([
      { iteration: 0, alpha: 0.6, source: 'config' },
      { iteration: 1, alpha: 0.3, source: 'slider' },
    ]);
    expect(expected.losses.map((l) => [l.iteration, l.alpha])).toEqual([
      [1, 0.6],
      [2, 0.3],
      [3, 0.3],
      [4, 0.3],
    ]);
    for (const l of expected.losses) expect(l.supervised! + l.unlabeled!).toBeCloseTo(l.total, 4);
    // Per iteration, the segments of the teacher's pseudo-label of the one unlabeled image (batch 1): a count.
    expect(expected.pseudoLabelSegments).toHaveLength(4);
    for (const n of expected.pseudoLabelSegments!) expect(Number.isInteger(n) && n >= 0).toBe(true);
    expect(expected.evals.map((e) => e.iteration)).toEqual([2, 4]);
    expect(expected.teacherEvals!.map((e) => e.iteration)).toEqual([2, 4]);

    const split = await prepare();
    const paused = await train(split.s, split.runId, 2);
    expect(paused).toMatchObject({ status: 'paused', iteration: 2 });
    const reloaded = await pool.open(split.db.name);
    const resumed = await train(reloaded, split.runId);
    expect(resumed.status).toBe('finished');
    const curve = (v: RunView) => v.losses.map(({ iterationsPerSecond: _, ...rest }) => rest);
    expect(curve(resumed)).toEqual(curve(expected));
    expect(resumed.alphaHistory).toEqual(expected.alphaHistory);
    expect(resumed.teacherEvals).toEqual(expected.teacherEvals);
    expect(resumed.pseudoLabelSegments).toEqual(expected.pseudoLabelSegments);
    expect(await storedState(reloaded, split.runId)).toEqual(await storedState(whole.s, whole.runId));

    // The sweep runs the saved teacher over the validation image; at α = 1 it is the teacher alone,
    // as its last validation (same weights, same image) scored it.
    const sweep = await reloaded.training.api.sweepAlpha();
    expect(sweep.points.map((p) => p.alpha)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(sweep).toMatchObject({ runId: split.runId, iteration: 4, images: 1 });
    expect(sweep.points[10].pq).toBeCloseTo(resumed.teacherEvals!.at(-1)!.pq, 6);
    expect(sweep.best.pq).toBe(Math.max(...sweep.points.map((p) => p.pq)));

    // The strip re-ensembles cached teacher outputs: moving α runs no decoder; α = 1 is P_MT, α = 0 is P_CLIP.
    const strip = await reloaded.training.api.pseudoLabelStrip(0.6, { count: 2, refresh: false });
    expect(strip.items).toHaveLength(2);
    expect(strip.decoderRuns).toBe(1);
    const atOne = await reloaded.training.api.pseudoLabelStrip(1, { count: 2, refresh: false });
    const atZero = await reloaded.training.api.pseudoLabelStrip(0, { count: 2, refresh: false });
    expect([atOne.decoderRuns, atZero.decoderRuns]).toEqual([1, 1]);
    for (let i = 0; i < 2; i++) {
      expect(atOne.items[i].teacher).toEqual(strip.items[i].teacher);
      expect(atOne.items[i].ensemble).toEqual(strip.items[i].teacher);
      expect(atZero.items[i].ensemble).toEqual(strip.items[i].clip);
      expect(atZero.items[i].weakView).toEqual(strip.items[i].weakView);
    }
    expect((await reloaded.training.api.pseudoLabelStrip(0.6, { count: 2, refresh: true })).decoderRuns).toBe(2);
    await pool.closeAll();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('adaptive α every 2 iterations applies the best α of the sweep from the next iteration, and resumes bit-exactly', async () => {
    const prepare = async () => {
      const db = await demoDatabase(DEMO);
      const s = await pool.open(db.name);
      const config = mtConfig(db.ids, { adaptiveAlpha: { every: 2 }, evalEvery: 0 });
      return { db, s, runId: (await s.training.createRun(config)).id };
    };
    const whole = await prepare();
    const expected = await train(whole.s, whole.runId, undefined, false);
    expect(expected.status).toBe('finished');
    // One sweep after iteration 2; none after the last iteration (4), which no iteration would use.
    expect(expected.alphaHistory!.map(({ alpha: _, ...c }) => c)).toEqual([
      { iteration: 0, source: 'config' },
      { iteration: 2, source: 'adaptive' },
    ]);
    const adaptive = expected.alphaHistory![1].alpha;
    // The untrained tiny teacher scores PQ 0 at every α, so the sweep's best is its first α (ties): 0, not the starting 0.6,
    // which makes the switch visible on the loss curve.
    expect(adaptive).toBe(0);
    expect(expected.losses.map((l) => l.alpha)).toEqual([0.6, 0.6, adaptive, adaptive]);

    // Paused after iteration 2, the saved teacher swept independently through the API gives the recorded α.
    const split = await prepare();
    const paused = await train(split.s, split.runId, 2, false);
    expect(paused).toMatchObject({ status: 'paused', iteration: 2 });
    const reloaded = await pool.open(split.db.name);
    const sweep = await reloaded.training.api.sweepAlpha();
    expect(sweep.iteration).toBe(2);
    expect(sweep.best.pq).toBe(Math.max(...sweep.points.map((p) => p.pq)));
    expect(paused.alphaHistory).toEqual(expected.alphaHistory);
    expect(sweep.best.alpha).toBe(adaptive);
    const resumed = await train(reloaded, split.runId, undefined, false);
    expect(resumed.alphaHistory).toEqual(expected.alphaHistory);
    expect(await storedState(reloaded, split.runId)).toEqual(await storedState(whole.s, whole.runId));
  });

  it('refuses adaptive α without validation images or with a period below 1', async () => {
    const db = await demoDatabase({ ...DEMO, validation: 0 });
    const s = await pool.open(db.name);
    const noValidation = await s.training.createRun(
      mtConfig(db.ids, { adaptiveAlpha: { every: 2 }, validationDatasetId: null, iterations: 1 }),
    );
    await expect(s.training.train(noValidation.id, new AbortController().signal)).rejects.toMatchObject({
      code: 'mt-adaptive-no-validation',
    });
    const zero = await s.training.createRun(mtConfig(db.ids, { adaptiveAlpha: { every: 0 }, iterations: 1 }));
    await expect(s.training.train(zero.id, new AbortController().signal)).rejects.toMatchObject({
      code: 'mt-adaptive-every',
    });
  });

  it('starts from a finished DeWa run of the same preset and crop, and refuses another crop', async () => {
    const db = await demoDatabase({ ...DEMO, validation: 0 });
    const s = await pool.open(db.name);
    await s.api().runMaskStage([db.ids.unlabeled], { ...DEFAULT_MASK_SETTINGS, pointsPerSide: 8 }, () => {});
    const dewa = await s.training.createRun({
      ...mtConfig(db.ids),
      kind: 'dewa',
      trainDatasetIds: [db.ids.unlabeled],
      validationDatasetId: null,
      iterations: 1,
    });
    expect((await s.training.train(dewa.id, new AbortController().signal)).status).toBe('finished');

    const other = await s.training.createRun(
      mtConfig(db.ids, { dewaRunId: dewa.id, cropSize: 64, validationDatasetId: null, iterations: 1 }),
    );
    await expect(s.training.train(other.id, new AbortController().signal)).rejects.toMatchObject({
      code: 'mt-dewa-preset',
    });

    const same = await s.training.createRun(
      mtConfig(db.ids, { dewaRunId: dewa.id, validationDatasetId: null, iterations: 1 }),
    );
    const view = await s.training.train(same.id, new AbortController().signal);
    expect(view.status).toBe('finished');
  });
});

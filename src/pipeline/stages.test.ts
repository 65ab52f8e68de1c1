/**
 * Every stage of the session on the one runner, in Node: run to the end uninterrupted, or paused
 * mid-way, the session recreated on the same storage, and resumed; the results must be equal (all
 * of these stages are deterministic, so bit for bit).
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import * as store from '../data/store';
import { ClipModel } from '../models/clip/clip';
import { clipConfigFromFixture, type ClipFixtureConfig } from '../models/clip/config';
import { safetensorsSource } from '../models/weights/tensorSource';
import { openFixtureSafetensors, readFixtureJson } from '../../test/fixtures';
import { demoDatabase, nodePngDecoder, sessionPool, trainAsJob } from '../../test/pipelineSession';
import { DEFAULT_MASK_SETTINGS, type MaskStageSettings } from './masksApi';
import type { LabSession } from './session';
import type { RunView, TrainingConfig } from './trainingApi';

const pool = sessionPool();
const session = pool.open;
const closeSessions = pool.closeAll;
afterEach(closeSessions);

const SIZE = { width: 32, height: 32 };

/** Fewer points than the default 32 per side: the fallback generator ignores them, but they are validated. */
const MASK_SETTINGS: MaskStageSettings = { ...DEFAULT_MASK_SETTINGS, pointsPerSide: 8 };

async function storedMasks(s: LabSession, datasetId: string): Promise<unknown[]> {
  const out = [];
  for (const image of await store.listImages(s.platform.db, datasetId, 0, 100)) {
    const rec = await store.getSamMasks(s.platform.db, image.id);
    out.push(rec ? { image: image.fileName, source: rec.source, masks: rec.masks } : null);
  }
  return out;
}

describe('class-agnostic mask stage (fallback generator)', () => {
  it('paused mid-image loses only that image, and the resumed masks equal an uninterrupted run', async () => {
    const options = { ...SIZE, labeled: 0, unlabeled: 5, validation: 0, seed: 3 };
    const whole = await demoDatabase(options);
    const a = await session(whole.name);
    const uninterrupted = await a.api().runMaskStage([whole.ids.unlabeled], MASK_SETTINGS, () => {});
    expect(uninterrupted).toEqual({ computed: 5, skipped: 0, paused: false, generator: 'fallback' });
    const expected = await storedMasks(a, whole.ids.unlabeled);
    expect(expected.every((m) => m !== null)).toBe(true);

    const split = await demoDatabase(options);
    // The pause arrives while the third image is being worked on (after its decode, before its masks).
    let decoded = 0;
    const b = await session(split.name, async (...args) => {
      const out = await nodePngDecoder(...args);
      if (++decoded === 3) void b.api().pauseMaskStage();
      return out;
    });
    const first = await b.api().runMaskStage([split.ids.unlabeled], MASK_SETTINGS, () => {});
    expect(first).toEqual({ computed: 2, skipped: 0, paused: true, generator: 'fallback' });
    expect((await storedMasks(b, split.ids.unlabeled)).map((m) => m !== null)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);

    const c = await session(split.name);
    const second = await c.api().runMaskStage([split.ids.unlabeled], MASK_SETTINGS, () => {});
    expect(second).toEqual({ computed: 5, skipped: 0, paused: false, generator: 'fallback' });
    expect(await storedMasks(c, split.ids.unlabeled)).toEqual(expected);

    // A finished stage run again starts over and finds every image done.
    expect(await c.api().runMaskStage([split.ids.unlabeled], MASK_SETTINGS, () => {})).toEqual({
      computed: 0,
      skipped: 5,
      paused: false,
      generator: 'fallback',
    });
  });
});

/** The tiny OpenCLIP fixture as the session's CLIP (image tower only). */
async function useFixtureClip(s: LabSession): Promise<void> {
  const dir = 'openclip-convnext-tiny';
  const config = clipConfigFromFixture(await readFixtureJson<ClipFixtureConfig>(`${dir}/config.json`));
  const model = await ClipModel.load(
    safetensorsSource(await openFixtureSafetensors(`${dir}/weights.safetensors`)),
    config,
    {
      towers: 'image',
    },
  );
  const card = {
    kind: 'clip' as const,
    name: config.name,
    fileName: 'weights.safetensors',
    parameters: 0,
    bytes: 0,
    source: 'fixture',
    sha256: 'f1x7ure0'.repeat(8),
    details: [],
  };
  s.clip.use({ model, tokenizer: null, card });
}

async function storedFeatures(s: LabSession): Promise<number[][]> {
  const keys = (await store.listFeatureKeys(s.platform.db, 'clip-res5:')).sort();
  return Promise.all(
    keys.map(async (k) =>
      Array.from(new Float32Array(await (await store.getFeature(s.platform.db, k))!.blob.arrayBuffer())),
    ),
  );
}

describe('CLIP feature stage', () => {
  it('resumed after a pause, it caches the same dense maps as an uninterrupted run', async () => {
    const options = { ...SIZE, labeled: 2, unlabeled: 0, validation: 0, seed: 4 };
    const whole = await demoDatabase(options);
    const a = await session(whole.name);
    await useFixtureClip(a);
    const full = await a.clip.featureStage(whole.ids.labeled, new AbortController().signal, () => {});
    expect(full).toMatchObject({ computed: 2, reused: 0, paused: false, side: 320, grid: [10, 10] });
    const expected = await storedFeatures(a);
    expect(expected).toHaveLength(2);

    const split = await demoDatabase(options);
    const b = await session(split.name);
    await useFixtureClip(b);
    const abort = new AbortController();
    const first = await b.clip.featureStage(split.ids.labeled, abort.signal, (p) => {
      if (p.done === 1) abort.abort();
    });
    expect(first).toMatchObject({ computed: 1, paused: true });

    const c = await session(split.name);
    await useFixtureClip(c);
    const second = await c.clip.featureStage(split.ids.labeled, new AbortController().signal, () => {});
    expect(second).toMatchObject({ computed: 2, reused: 0, paused: false });
    expect(await storedFeatures(c)).toEqual(expected);
  });
});

const TRAINING: Omit<TrainingConfig, 'kind' | 'trainDatasetIds' | 'validationDatasetId'> = {
  preset: 'tiny',
  cropSize: 32,
  iterations: 2,
  batchSize: 1,
  evalEvery: 0,
  validationImages: 1,
  learningRate: 1e-4,
  seed: 5,
};

async function checkpointOf(s: LabSession, runId: string): Promise<number[]> {
  const rec = await store.getRun<{ stage: { checkpoint: Blob } }>(s.platform.db, runId);
  return Array.from(new Uint8Array(await rec!.state.stage.checkpoint.arrayBuffer()));
}

describe.each(['dewa', 'supervised'] as const)('%s training stage', (kind) => {
  it('paused, reloaded and resumed, it ends with the same weights and losses as an uninterrupted run', async () => {
    // DeWa also validates (mask recall), so that the tensor count covers its evaluation.
    const options = { ...SIZE, labeled: 2, unlabeled: 0, validation: kind === 'dewa' ? 1 : 0, seed: 6 };
    const tensorsBefore = tf.memory().numTensors;
    const prepare = async () => {
      const db = await demoDatabase(options);
      const s = await session(db.name);
      if (kind === 'dewa') await s.api().runMaskStage([db.ids.labeled], MASK_SETTINGS, () => {});
      const view = await s.training.createRun({
        ...TRAINING,
        kind,
        trainDatasetIds: [db.ids.labeled],
        validationDatasetId: kind === 'dewa' ? db.ids.validation : null,
      });
      return { db, s, runId: view.id };
    };
    const whole = await prepare();
    const expected = await trainAsJob(whole.s, whole.runId);
    expect(expected.status).toBe('finished');
    expect(expected.losses.map((l) => l.iteration)).toEqual([1, 2]);

    const split = await prepare();
    const paused = await trainAsJob(split.s, split.runId, 1);
    expect(paused).toMatchObject({ status: 'paused', iteration: 1 });
    const reloaded = await session(split.db.name);
    const resumed = await trainAsJob(reloaded, split.runId);
    expect(resumed.status).toBe('finished');
    const curve = (v: RunView) => v.losses.map(({ iterationsPerSecond: _, ...rest }) => rest);
    expect(curve(resumed)).toEqual(curve(expected));
    expect(resumed.recallEvals).toEqual(expected.recallEvals);
    if (kind === 'dewa') expect(expected.recallEvals).toHaveLength(1);
    expect(await checkpointOf(reloaded, split.runId)).toEqual(await checkpointOf(whole.s, whole.runId));
    await closeSessions();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import type { ClipModel } from '../models/clip/clip';
import { buildTextClassifier, disposeTextClassifier, type TextClassifier } from '../models/decoder/classHead';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { DearliError } from '../core/errors';
import { saveCheckpoint } from './checkpoint';
import { criterionConfig } from './losses';
import { restoreMeanTeacher, saveMeanTeacher } from './meanTeacherCheckpoint';
import {
  meanTeacherOptions,
  MeanTeacherTrainer,
  type MeanTeacherOptions,
  type UnlabeledItem,
} from './meanTeacherTrainer';
import { DEFAULT_OPTIMIZER } from './optim';
import { uploadTargets } from './targets';
import { clipTrunk, tinyClip } from '../../test/trainingSupport';
import { Trainer } from './trainStep';

// The smallest decoder that runs every path, on the tiny CLIP fixture (embedding 32) at 32x32 crops.
const config = decoderPreset('tiny', { numQueries: 4, decoderLayers: 1, cropSize: 32, trainPoints: 16, embedDim: 32 });
let clip: ClipModel;
let classifier: TextClassifier;

beforeAll(async () => {
  await setupTestBackend();
  clip = await tinyClip();
  // Three classes: a thing and two stuff classes.
  classifier = buildTextClassifier(
    Float32Array.from({ length: 3 * 32 }, (_, i) => Math.sin(0.7 * i)),
    32,
    [0, 1, 2],
    3,
  );
});

afterAll(() => {
  disposeTextClassifier(classifier);
  clip.dispose();
});

function newTrainer(
  modelSeed: number,
  seed: number,
  total: number,
  overrides: Partial<MeanTeacherOptions> = {},
): MeanTeacherTrainer {
  const model = new M2FLang(config, modelSeed);
  const student = new Trainer(model, classifier, {
    criterion: criterionConfig(3, config),
    optimizer: { ...DEFAULT_OPTIMIZER, maxIterations: total },
    seed,
  });
  // CutMix on every item here, so both paths (with and without a box, when the box is empty) run within a few steps.
  const options = meanTeacherOptions(config.cropSize, config.numQueries, (c) => c === 0, {
    seed,
    cutmix: { probability: 0.7, areaRange: [0.02, 0.4], ratioRange: [0.3, 1 / 0.3], maxTries: 1000 },
    ...overrides,
  });
  return new MeanTeacherTrainer(student, clipTrunk(clip), { head: clip.imageHead, logitScale: Math.log(100) }, options);
}

function disposeTrainer(t: MeanTeacherTrainer): void {
  t.dispose();
  t.student.dispose();
  t.student.model.dispose();
}

/** A deterministic batch for iteration i: labeled features + targets, one or two unlabeled items with partners. */
function batch(i: number, items: number) {
  const features = Object.fromEntries(
    (['res2', 'res3', 'res4', 'res5'] as const).map((k, l) => [
      k,
      tf.randomNormal([1, 8 >> l, 8 >> l, config.trunkChannels[l]], 0, 1, 'float32', i * 10 + l + 1) as tf.Tensor4D,
    ]),
  ) as never;
  const mask = new Uint8Array(2 * 32 * 32).map((_, p) => (p % 32 < 16 !== p >= 1024 ? 1 : 0));
  const targets = uploadTargets([{ width: 32, height: 32, masks: mask, classes: Int32Array.from([0, 1]) }], 2);
  const image = (h: number, w: number, phase: number) =>
    tf.tensor3d(
      Float32Array.from({ length: h * w * 3 }, (_, p) => 127.5 + 127.5 * Math.sin(0.05 * p + phase)),
      [h, w, 3],
    );
  const unlabeled: UnlabeledItem[] = [{ image: image(40, 48, i), partner: image(36, 30, i + 0.5) }];
  if (items === 2) unlabeled.push({ image: image(24, 40, i + 0.25), partner: image(48, 48, i + 0.75) });
  return { labeled: { features, targets }, unlabeled };
}

function disposeBatch(b: ReturnType<typeof batch>): void {
  tf.dispose([
    b.labeled.targets.masks,
    ...Object.values(b.labeled.features as Record<string, tf.Tensor>),
    ...b.unlabeled.flatMap((u) => [u.image, u.partner]),
  ]);
}

async function step(t: MeanTeacherTrainer, items = 2) {
  const b = batch(t.iteration, items);
  const report = await t.step(b.labeled, b.unlabeled);
  disposeBatch(b);
  return report;
}

const weights = (m: M2FLang) =>
  Promise.all([...m.variables.values()].map(async (v) => Array.from((await v.data()) as Float32Array)));

describe('Mean Teacher trainer', () => {
  it('numTensors is flat over 50 Mean Teacher steps and back to baseline after dispose', async () => {
    const baseline = tf.memory().numTensors;
    const t = newTrainer(1, 3, 50);
    const counts: number[] = [];
    let cutmixed = 0;
    for (let i = 1; i <= 50; i++) {
      const r = await step(t, 1);
      cutmixed += r.cutmixed;
      if (i === 10 || i === 50) counts.push(tf.memory().numTensors);
    }
    console.log('Mean Teacher: numTensors after iteration 10 and 50:', counts, `; ${cutmixed} of 50 items CutMixed`);
    expect(counts[1]).toBe(counts[0]);
    expect(cutmixed).toBeGreaterThan(0);
    expect(cutmixed).toBeLessThan(50);
    const losses = await t.student.flushLosses();
    expect(losses!.terms).toHaveLength(2);
    expect(losses!.total).toBeCloseTo(losses!.terms![0].total + losses!.terms![1].total, 4);
    expect(Number.isFinite(losses!.terms![1].total)).toBe(true);
    disposeTrainer(t);
    expect(tf.memory().numTensors).toBe(baseline);
  }, 600_000);

  it('resumes bit-exactly: N steps == N/2, save, restore into a new trainer, N/2 more (student, teacher, RNG, α history)', async () => {
    const n = 4;
    const ramp = { ema: { kind: 'ramp', decay: 0.999 } } as const;
    const a = newTrainer(1, 5, n, ramp);
    for (let i = 0; i < n; i++) {
      if (i === 1) a.setAlpha(0.3, 'slider');
      await step(a);
    }
    const b = newTrainer(1, 5, n, ramp);
    for (let i = 0; i < n / 2; i++) {
      if (i === 1) b.setAlpha(0.3, 'slider');
      await step(b);
    }
    const saved = await saveMeanTeacher(b);
    disposeTrainer(b);
    // Different initial weights and seeds: everything must come from the checkpoint.
    const c = newTrainer(77, 99, n, ramp);
    await restoreMeanTeacher(c, saved);
    expect(c.iteration).toBe(n / 2);
    expect(c.alphaHistory).toEqual([
      { iteration: 0, alpha: 0.6, source: 'config' },
      { iteration: 1, alpha: 0.3, source: 'slider' },
    ]);
    for (let i = n / 2; i < n; i++) expect((await step(c)).alpha).toBe(0.3);
    expect(await weights(c.student.model)).toEqual(await weights(a.student.model));
    expect(await weights(c.teacher.model)).toEqual(await weights(a.teacher.model));
    // The teacher differs from the student (the EMA is not a copy after step 0).
    expect(await weights(c.teacher.model)).not.toEqual(await weights(c.student.model));
    expect(c.rng.state).toEqual(a.rng.state);
    expect(c.student.rng.state).toEqual(a.student.rng.state);
    disposeTrainer(a);
    disposeTrainer(c);
  }, 600_000);

  it('refuses a malformed Mean Teacher checkpoint with a DearliError before assigning anything', async () => {
    const t = newTrainer(1, 5, 4);
    const good = await saveMeanTeacher(t);
    const badStudent = await saveCheckpoint(t.student, {
      stage: 'mean-teacher',
      meanTeacher: { rngState: [1, 2, 3], alphaHistory: [] },
    });
    const other = newTrainer(2, 6, 4);
    const before = await weights(other.student.model);
    await expect(restoreMeanTeacher(other, { ...good, student: badStudent })).rejects.toThrow(DearliError);
    await expect(restoreMeanTeacher(other, { ...good, teacher: good.student })).rejects.toThrow(/not a DEARLi teacher/);
    expect(await weights(other.student.model)).toEqual(before);
    disposeTrainer(t);
    disposeTrainer(other);
  });

  it("reads a lab 0.1 α history: the unsourced starting α is the config's, 'manual' the slider's", async () => {
    const t = newTrainer(1, 5, 4);
    const good = await saveMeanTeacher(t);
    const legacy = await saveCheckpoint(t.student, {
      stage: 'mean-teacher',
      meanTeacher: {
        rngState: t.rng.state,
        alphaHistory: [
          { iteration: 0, alpha: 0.6 },
          { iteration: 1, alpha: 0.3, source: 'manual' },
        ],
      },
    });
    const other = newTrainer(2, 6, 4);
    await restoreMeanTeacher(other, { ...good, student: legacy });
    expect(other.alphaHistory).toEqual([
      { iteration: 0, alpha: 0.6, source: 'config' },
      { iteration: 1, alpha: 0.3, source: 'slider' },
    ]);
    disposeTrainer(t);
    disposeTrainer(other);
  });
});

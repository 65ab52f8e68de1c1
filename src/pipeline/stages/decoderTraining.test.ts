import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { buildTextClassifier } from '../../models/decoder/classHead';
import { decoderPreset } from '../../models/decoder/config';
import { M2FLang } from '../../models/decoder/m2fLang';
import { createTrainer } from '../../train/createTrainer';
import { DEFAULT_OPTIMIZER, polyLearningRate } from '../../train/optim';
import { uploadTargets } from '../../train/targets';
import { run, type StateStore } from '../runner';
import { decoderTrainingStage, type AppliedLoss, type DecoderStageState } from './decoderTraining';

beforeAll(async () => {
  await setupTestBackend();
});

const config = decoderPreset('tiny', { numQueries: 4, decoderLayers: 1, cropSize: 32, trainPoints: 16 });
const classifier = () =>
  buildTextClassifier(
    Float32Array.from({ length: 2 * config.embedDim }, (_, i) => Math.cos(i)),
    config.embedDim,
    [0, 1],
    2,
  );

/** A deterministic batch per iteration (the RNG decides the class order). Seeds start at 1: tfjs treats seed 0 as 'no seed'. */
function source(iteration: number, rng: { next(): number }) {
  const swap = rng.next() < 0.5;
  const features = Object.fromEntries(
    (['res2', 'res3', 'res4', 'res5'] as const).map((k, i) => [
      k,
      tf.randomNormal(
        [1, 8 >> i, 8 >> i, config.trunkChannels[i]],
        0,
        1,
        'float32',
        iteration * 10 + i + 1,
      ) as tf.Tensor4D,
    ]),
  ) as never;
  const mask = new Uint8Array(2 * 32 * 32).map((_, i) => (i % 32 < 16 !== i >= 1024 ? 1 : 0));
  return Promise.resolve({
    features,
    targets: uploadTargets(
      [{ width: 32, height: 32, masks: mask, classes: Int32Array.from(swap ? [1, 0] : [0, 1]) }],
      2,
    ),
  });
}

async function weightsOf(model: M2FLang): Promise<Float32Array[]> {
  return Promise.all([...model.variables.values()].map(async (v) => (await v.data()) as Float32Array));
}

describe('the decoder-training stage on the runner', () => {
  it('pause, persist, resume gives bit-identical weights to an uninterrupted run', async () => {
    const total = 4;
    // Uninterrupted.
    const modelA = new M2FLang(config, 9);
    const trainerA = createTrainer('supervised', modelA, classifier(), total, 4);
    const memA: { s: DecoderStageState | null } = { s: null };
    const storeA: StateStore<DecoderStageState> = { load: async () => memA.s, save: async (s) => void (memA.s = s) };
    await run(
      decoderTrainingStage('supervised', trainerA, total, source),
      storeA,
      new AbortController().signal,
      () => {},
    );
    const expected = await weightsOf(modelA);

    // Paused after 2 steps, then resumed in a fresh model/trainer from the stored checkpoint.
    const mem: { s: DecoderStageState | null } = { s: null };
    const store: StateStore<DecoderStageState> = {
      load: async () => mem.s,
      save: async (s) => void (mem.s = { ...s }),
    };
    const modelB = new M2FLang(config, 9);
    const trainerB = createTrainer('supervised', modelB, classifier(), total, 4);
    const abort = new AbortController();
    const first = await run(decoderTrainingStage('supervised', trainerB, total, source), store, abort.signal, (p) => {
      if (p.done === 2) abort.abort();
    });
    expect(first.outcome).toBe('paused');
    expect(mem.s?.iteration).toBe(2);
    trainerB.dispose();
    modelB.dispose();
    const modelC = new M2FLang(config, 1234); // different init: everything must come from the checkpoint
    const trainerC = createTrainer('supervised', modelC, classifier(), total, 77);
    const second = await run(
      decoderTrainingStage('supervised', trainerC, total, source),
      store,
      new AbortController().signal,
      () => {},
    );
    expect(second.outcome).toBe('finished');
    expect(trainerC.iteration).toBe(total);
    const got = await weightsOf(modelC);
    got.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(expected[i])));
    expect(Array.from(trainerC.rng.state)).toEqual(Array.from(trainerA.rng.state));
    for (const t of [trainerA, trainerC]) t.dispose();
    for (const m of [modelA, modelC]) m.dispose();
  });

  it('reports with each loss the learning rate the optimizer applied at that iteration', async () => {
    const total = 3;
    const model = new M2FLang(config, 9);
    const trainer = createTrainer('supervised', model, classifier(), total, 4, { learningRate: 2e-4 });
    const losses: AppliedLoss[] = [];
    const mem: { s: DecoderStageState | null } = { s: null };
    const store: StateStore<DecoderStageState> = { load: async () => mem.s, save: async (s) => void (mem.s = s) };
    await run(decoderTrainingStage('supervised', trainer, total, source), store, new AbortController().signal, (p) => {
      const loss = p.details?.loss as AppliedLoss | null;
      if (loss && losses.at(-1)?.iteration !== loss.iteration) losses.push(loss);
    });
    losses.push(mem.s!.lastLoss!);
    const schedule = { ...DEFAULT_OPTIMIZER, learningRate: 2e-4, maxIterations: total };
    expect(losses.map((l) => l.iteration)).toEqual([0, 1, 2]);
    expect(losses.map((l) => l.learningRate)).toEqual([0, 1, 2].map((it) => polyLearningRate(schedule, it)));
    expect(losses[1].learningRate).toBeCloseTo(2e-4 * (2 / 3) ** 0.9, 12);
    trainer.dispose();
    model.dispose();
  });
});

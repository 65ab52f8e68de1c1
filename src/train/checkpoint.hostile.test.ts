/**
 * Issue 13, checkpoints restored from storage: a refused checkpoint leaves the trainer exactly as it
 * was (weights, moments, iteration, step, RNG); transposed tensors and broken RNG states are refused
 * by name; a config with its keys in another order is the same config.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { DearliError } from '../core/errors';
import { buildTextClassifier } from '../models/decoder/classHead';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../models/weights/safetensors';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { createTrainer } from './createTrainer';
import type { Trainer } from './trainStep';

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

function trainer(seed: number): Trainer {
  const t = createTrainer('supervised', new M2FLang(config, seed), classifier(), 10, seed);
  t.iteration = seed;
  t.optimizer.step = seed;
  return t;
}

/** Everything a restore may change, read back. */
async function snapshot(t: Trainer): Promise<unknown> {
  const weights = await Promise.all(
    [...t.model.variables.values()].map(async (v) => Array.from((await v.data()) as Float32Array)),
  );
  const m = Array.from((await t.optimizer.firstMoment.data()) as Float32Array);
  const v = Array.from((await t.optimizer.secondMoment.data()) as Float32Array);
  return { weights, m, v, iteration: t.iteration, step: t.optimizer.step, rng: t.rng.state };
}

/** The checkpoint of a fresh trainer, re-written after `edit` changed its tensors or metadata. */
async function edited(
  edit: (tensors: Record<string, TensorToWrite>, meta: Record<string, unknown>) => void,
): Promise<Uint8Array> {
  const source = trainer(7);
  source.rng.nextUint32();
  const file = await SafetensorsFile.open(new Blob([(await saveCheckpoint(source)) as BlobPart]));
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of file.names) {
    const t = await file.read(name);
    tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
  }
  const meta = JSON.parse(file.metadata.dearli) as Record<string, unknown>;
  edit(tensors, meta);
  return writeSafetensors(tensors, { dearli: JSON.stringify(meta) });
}

async function expectRefusedUnchanged(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const target = trainer(3);
  const before = await snapshot(target);
  const tensorsBefore = tf.memory().numTensors;
  const err = await restoreCheckpoint(target, bytes, { fileName: 'run.safetensors' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DearliError);
  expect((err as DearliError).file).toBe('run.safetensors');
  expect((err as DearliError).message).toMatch(pattern);
  expect(await snapshot(target)).toEqual(before);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
}

describe('atomic checkpoint restore (issue 13)', () => {
  it('refuses a transposed tensor (same size, other shape)', async () => {
    const bytes = await edited((tensors) => {
      const name = Object.keys(tensors).find(
        (n) => n.startsWith('param/') && tensors[n].shape.length === 2 && tensors[n].shape[0] !== tensors[n].shape[1],
      )!;
      tensors[name].shape = [...tensors[name].shape].reverse();
    });
    await expectRefusedUnchanged(bytes, /is F32 \[\d+, \d+\], the model needs F32/);
  });

  it('refuses an empty or malformed RNG state instead of a generator that returns 0 forever', async () => {
    await expectRefusedUnchanged(
      await edited((_t, meta) => (meta.rngState = [])),
      /random state \[\] is not four 32-bit words/,
    );
    await expectRefusedUnchanged(await edited((_t, meta) => (meta.rngState = [1, 2, 3, -4])), /random state/);
  });

  it('leaves the trainer as it was when the last tensor is missing (no half-restored weights)', async () => {
    await expectRefusedUnchanged(
      await edited(
        (tensors) =>
          delete tensors[
            Object.keys(tensors)
              .filter((n) => n.startsWith('adam_v/'))
              .pop()!
          ],
      ),
      /lacks tensor adam_v\//,
    );
  });

  it('names broken metadata: not JSON, wrong format, bad counts', async () => {
    const raw = writeSafetensors(
      { x: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } },
      { dearli: '{not json' },
    );
    await expectRefusedUnchanged(raw, /metadata is not valid JSON/);
    await expectRefusedUnchanged(await edited((_t, meta) => (meta.format = 'other/1')), /format is "other\/1"/);
    await expectRefusedUnchanged(await edited((_t, meta) => (meta.iteration = -1)), /not a count/);
  });

  it('accepts the same config with its keys in another order, and restores it exactly', async () => {
    const bytes = await edited((_t, meta) => {
      const cfg = meta.config as Record<string, unknown>;
      meta.config = Object.fromEntries(
        Object.keys(cfg)
          .reverse()
          .map((k) => [k, cfg[k]]),
      );
    });
    const target = trainer(3);
    await restoreCheckpoint(target, bytes);
    const reference = trainer(3);
    await restoreCheckpoint(reference, await edited(() => undefined));
    expect(await snapshot(target)).toEqual(await snapshot(reference));
    expect(target.iteration).toBe(7);
  });
});

/**
 * Decoder checkpoints: every decoder parameter, both AdamW moments, the iteration, the optimizer
 * step and the RNG state in one safetensors file (F32 tensors + a JSON string under
 * __metadata__.dearli). Restoring gives bit-identical weights, moments and random stream.
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../core/errors';
import type { RngState } from '../core/rng';
import { Rng } from '../core/rng';
import type { DecoderConfig } from '../models/decoder/config';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../models/weights/safetensors';
import type { Trainer } from './trainStep';

const CHECKPOINT_FORMAT = 'dearli-decoder-checkpoint/1';

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  config: DecoderConfig;
  iteration: number;
  optimizerStep: number;
  rngState: RngState;
  /** Caller's own JSON (stage name, dataset fingerprint, …). */
  extra?: Record<string, unknown>;
}

async function readAll(
  prefix: string,
  vars: Map<string, tf.Variable>,
  out: Record<string, TensorToWrite>,
): Promise<void> {
  for (const [name, v] of vars)
    out[`${prefix}/${name}`] = { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array };
}

/** Serialises the trainer (reads every variable back once: call at pauses, not per step). */
export async function saveCheckpoint(trainer: Trainer, extra?: Record<string, unknown>): Promise<Uint8Array> {
  const tensors: Record<string, TensorToWrite> = {};
  await readAll('param', trainer.model.variables, tensors);
  const opt = trainer.optimizer;
  const [m, v] = (await Promise.all([opt.firstMoment.data(), opt.secondMoment.data()])) as Float32Array[];
  for (const name of opt.names) {
    const [offset, size] = opt.slot(name);
    const shape = trainer.model.variables.get(name)!.shape;
    tensors[`adam_m/${name}`] = { dtype: 'F32', shape, data: m.slice(offset, offset + size) };
    tensors[`adam_v/${name}`] = { dtype: 'F32', shape, data: v.slice(offset, offset + size) };
  }
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    config: trainer.model.config,
    iteration: trainer.iteration,
    optimizerStep: trainer.optimizer.step,
    rngState: trainer.rng.state,
    extra,
  };
  return writeSafetensors(tensors, { dearli: JSON.stringify(meta) });
}

const NOT_A_CHECKPOINT = 'Choose a checkpoint saved by DEARLi Lab for this decoder, or start the run anew.';

function refuse(file: string, problem: string, fix = NOT_A_CHECKPOINT): never {
  throw new DearliError('checkpoint-invalid', problem, fix, file);
}

const isUint32 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The checkpoint's metadata, every field checked (a named error, never a raw SyntaxError or TypeError). */
export async function readCheckpointMeta(file: SafetensorsFile): Promise<CheckpointMeta> {
  const raw = file.metadata.dearli;
  if (raw === undefined)
    refuse(file.fileName, 'the file is a safetensors file but not a DEARLi decoder checkpoint (no "dearli" metadata)');
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    refuse(
      file.fileName,
      `the checkpoint metadata is not valid JSON (${(e as Error).message})`,
      'The file is damaged: use another checkpoint.',
    );
  }
  if (!isObject(meta) || meta.format !== CHECKPOINT_FORMAT)
    refuse(
      file.fileName,
      `the checkpoint format is ${JSON.stringify(isObject(meta) ? meta.format : meta)?.slice(0, 60)}, not ${CHECKPOINT_FORMAT}`,
    );
  if (!isObject(meta.config)) refuse(file.fileName, 'the checkpoint has no decoder config');
  if (!isCount(meta.iteration) || !isCount(meta.optimizerStep))
    refuse(
      file.fileName,
      `the checkpoint's iteration ${JSON.stringify(meta.iteration)} or optimizer step ${JSON.stringify(meta.optimizerStep)} is not a count`,
      'The file is damaged: use another checkpoint.',
    );
  const rng = meta.rngState;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every(isUint32)) {
    refuse(
      file.fileName,
      `the checkpoint's random state ${JSON.stringify(rng)?.slice(0, 60)} is not four 32-bit words`,
      'The file is damaged: use another checkpoint (or restore its weights only).',
    );
  }
  if (meta.extra !== undefined && !isObject(meta.extra))
    refuse(file.fileName, 'the checkpoint\'s "extra" is not an object', 'The file is damaged: use another checkpoint.');
  return meta as unknown as CheckpointMeta;
}

/** JSON with object keys sorted at every level, so that equal configs compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value))
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** Reads one checkpoint tensor after checking that it is F32 with exactly `shape` (a transposed tensor has the same size but not the same shape). */
async function readExact(file: SafetensorsFile, name: string, shape: readonly number[]): Promise<Float32Array> {
  if (!file.has(name))
    refuse(
      file.fileName,
      `the checkpoint lacks tensor ${name}`,
      'The checkpoint belongs to another decoder: choose the matching one.',
    );
  const entry = file.entry(name);
  if (entry.dtype !== 'F32' || entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
    refuse(
      file.fileName,
      `checkpoint tensor ${name} is ${entry.dtype} [${entry.shape.join(', ')}], the model needs F32 [${shape.join(', ')}]`,
      'The checkpoint belongs to another decoder: choose the matching one.',
    );
  }
  return (await file.read(name)).data as Float32Array;
}

/**
 * Loads a checkpoint into a trainer built with the same decoder config. With weightsOnly (e.g. a
 * DeWa checkpoint starting a semi-supervised run) the optimizer, iteration and RNG stay as they are.
 * Atomic: the metadata, the config and every tensor are read and checked first; only then is
 * anything assigned, so a refused checkpoint leaves the trainer exactly as it was.
 */
export async function restoreCheckpoint(
  trainer: Trainer,
  bytes: Uint8Array | Blob,
  options: { weightsOnly?: boolean; fileName?: string } = {},
): Promise<CheckpointMeta> {
  const blob = bytes instanceof Blob ? bytes : new Blob([bytes as BlobPart]);
  const file = await SafetensorsFile.open(blob, options.fileName ?? 'checkpoint.safetensors');
  const meta = await readCheckpointMeta(file);
  const want = canonicalJson(trainer.model.config);
  if (canonicalJson(meta.config) !== want) {
    refuse(
      file.fileName,
      `the checkpoint was trained with decoder config ${canonicalJson(meta.config)}, this model is ${want}`,
      'Load it into a run with the same decoder settings.',
    );
  }
  const params = new Map<tf.Variable, Float32Array>();
  for (const [name, v] of trainer.model.variables) params.set(v, await readExact(file, `param/${name}`, v.shape));
  const moments: [tf.Variable, Float32Array][] = [];
  if (!options.weightsOnly) {
    const opt = trainer.optimizer;
    for (const [prefix, flat] of [
      ['adam_m', opt.firstMoment],
      ['adam_v', opt.secondMoment],
    ] as const) {
      const values = new Float32Array(flat.size);
      for (const name of opt.names)
        values.set(
          await readExact(file, `${prefix}/${name}`, trainer.model.variables.get(name)!.shape),
          opt.slot(name)[0],
        );
      moments.push([flat, values]);
    }
  }
  tf.tidy(() => {
    for (const [v, data] of params) v.assign(tf.tensor(data, v.shape));
    for (const [flat, values] of moments) flat.assign(tf.tensor1d(values));
  });
  if (!options.weightsOnly) {
    trainer.iteration = meta.iteration;
    trainer.optimizer.step = meta.optimizerStep;
    trainer.rng = new Rng(meta.rngState);
  }
  return meta;
}

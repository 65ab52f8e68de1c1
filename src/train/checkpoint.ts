/**
 * Decoder checkpoints: every decoder parameter, both AdamW moments, the iteration, the optimizer
 * step and the RNG state in one safetensors file (F32 tensors + a JSON string under
 * __metadata__.dearli). Restoring gives bit-identical weights, moments and random stream.
 */
import * as tf from '@tensorflow/tfjs';
import type { RngState } from '../core/rng';
import { Rng } from '../core/rng';
import type { DecoderConfig } from '../models/decoder/config';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../models/weights/safetensors';
import type { Trainer } from './trainStep';

export const CHECKPOINT_FORMAT = 'dearli-decoder-checkpoint/1';

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  config: DecoderConfig;
  iteration: number;
  optimizerStep: number;
  rngState: RngState;
  /** Caller's own JSON (stage name, dataset fingerprint, …). */
  extra?: Record<string, unknown>;
}

async function readAll(prefix: string, vars: Map<string, tf.Variable>, out: Record<string, TensorToWrite>): Promise<void> {
  for (const [name, v] of vars) out[`${prefix}/${name}`] = { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array };
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

export async function readCheckpointMeta(file: SafetensorsFile): Promise<CheckpointMeta> {
  const raw = file.metadata.dearli;
  const meta = raw ? (JSON.parse(raw) as CheckpointMeta) : null;
  if (!meta || meta.format !== CHECKPOINT_FORMAT) throw new Error(`${file.fileName} is not a DEARLi decoder checkpoint`);
  return meta;
}

async function assignAll(file: SafetensorsFile, prefix: string, vars: Map<string, tf.Variable>): Promise<void> {
  for (const [name, v] of vars) {
    const t = await file.read(`${prefix}/${name}`);
    if (t.data.length !== v.size) throw new Error(`checkpoint tensor ${prefix}/${name} has ${t.data.length} values, the model needs ${v.size}`);
    tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, v.shape)));
  }
}

/**
 * Loads a checkpoint into a trainer built with the same decoder config. With weightsOnly (e.g. a
 * DeWa checkpoint starting a semi-supervised run) the optimizer, iteration and RNG stay as they are.
 */
export async function restoreCheckpoint(trainer: Trainer, bytes: Uint8Array | Blob, options: { weightsOnly?: boolean } = {}): Promise<CheckpointMeta> {
  const blob = bytes instanceof Blob ? bytes : new Blob([bytes as BlobPart]);
  const file = await SafetensorsFile.open(blob, 'checkpoint.safetensors');
  const meta = await readCheckpointMeta(file);
  const want = JSON.stringify(trainer.model.config);
  if (JSON.stringify(meta.config) !== want) throw new Error(`checkpoint was trained with decoder config ${JSON.stringify(meta.config)}, this model is ${want}`);
  await assignAll(file, 'param', trainer.model.variables);
  if (!options.weightsOnly) {
    const opt = trainer.optimizer;
    for (const [prefix, flat] of [['adam_m', opt.firstMoment], ['adam_v', opt.secondMoment]] as const) {
      const values = new Float32Array(flat.size);
      for (const name of opt.names) {
        const t = await file.read(`${prefix}/${name}`);
        const [offset, size] = opt.slot(name);
        if (t.data.length !== size) throw new Error(`checkpoint tensor ${prefix}/${name} has ${t.data.length} values, the model needs ${size}`);
        values.set(t.data as Float32Array, offset);
      }
      tf.tidy(() => flat.assign(tf.tensor1d(values)));
    }
    trainer.iteration = meta.iteration;
    trainer.optimizer.step = meta.optimizerStep;
    trainer.rng = new Rng(meta.rngState);
  }
  return meta;
}

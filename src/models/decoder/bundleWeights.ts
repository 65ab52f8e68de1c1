/**
 * `model.safetensors` of a shared model: the decoder's parameters under the upstream Mask2Former /
 * DEARLi names and torch layouts (upstreamNames.ts). Export then import gives the same Float32
 * values, bit for bit.
 */
import { DearliError } from '../../core/errors';
import { writeSafetensors, type SafetensorsFile, type TensorToWrite } from '../weights/safetensors';
import type { DecoderConfig } from './config';
import { decoderParamTable } from './m2fLang';
import { fromTorchLayout, toTorchLayout, upstreamTensors } from './upstreamNames';

/** One tensor of the file, as a model card lists it. */
export interface BundleTensor {
  name: string;
  dtype: 'F32';
  shape: number[];
}

/** The tensors `model.safetensors` holds for this decoder configuration, in upstream naming. */
export function bundleTensorList(config: DecoderConfig): BundleTensor[] {
  return upstreamTensors(config, decoderParamTable(config)).map((t) => ({
    name: t.name,
    dtype: 'F32',
    shape: t.shape,
  }));
}

/** Lab parameter values (lab names, lab layouts) → safetensors bytes in upstream naming. */
export function exportDecoderWeights(
  config: DecoderConfig,
  values: Map<string, Float32Array>,
  metadata?: Record<string, string>,
): Uint8Array {
  const table = decoderParamTable(config);
  const tensors: Record<string, TensorToWrite> = {};
  for (const t of upstreamTensors(config, table)) {
    const parts = t.parts.map((lab) => {
      const v = values.get(lab);
      if (!v) throw new Error(`decoder parameter "${lab}" has no value to export`);
      return toTorchLayout(v, table.get(lab)!.shape, t.layout);
    });
    const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    tensors[t.name] = { dtype: 'F32', shape: t.shape, data };
  }
  return writeSafetensors(tensors, metadata);
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** `model.safetensors` → lab parameter values, after checking every name, dtype and shape. */
export async function importDecoderWeights(
  config: DecoderConfig,
  file: SafetensorsFile,
): Promise<Map<string, Float32Array>> {
  const table = decoderParamTable(config);
  const expected = upstreamTensors(config, table);
  const fix = `Export the model again, or pick the card that belongs to this file (preset "${config.preset}").`;
  const known = new Set(expected.map((t) => t.name));
  const extra = file.names.filter((n) => !known.has(n));
  if (extra.length) {
    throw new DearliError(
      'bundle-weights',
      `${extra.length} tensors are not part of a "${config.preset}" decoder (${extra.slice(0, 3).join(', ')})`,
      fix,
      file.fileName,
    );
  }
  const values = new Map<string, Float32Array>();
  for (const t of expected) {
    if (!file.has(t.name)) throw new DearliError('bundle-weights', `tensor "${t.name}" is missing`, fix, file.fileName);
    const entry = file.entry(t.name);
    if (entry.dtype !== 'F32' || !sameShape(entry.shape, t.shape)) {
      throw new DearliError(
        'bundle-weights',
        `tensor "${t.name}" is ${entry.dtype} [${entry.shape.join(', ')}], expected F32 [${t.shape.join(', ')}]`,
        fix,
        file.fileName,
      );
    }
    const data = (await file.read(t.name)).data as Float32Array;
    let at = 0;
    for (const lab of t.parts) {
      const labShape = table.get(lab)!.shape;
      const n = labShape.reduce((a, d) => a * d, 1);
      values.set(lab, fromTorchLayout(data.subarray(at, at + n), labShape, t.layout));
      at += n;
    }
  }
  return values;
}

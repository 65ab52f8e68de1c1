/** The parsers fuzzed for issue 13, each with valid seed inputs. */
import * as tf from '@tensorflow/tfjs';
import { decodeMask, encodeMask, normalizeRle, toCocoRle } from '../../src/core/rle';
import { decodeMaskPng, encodeIdPng } from '../../src/data/decode';
import { parseJson } from '../../src/data/files';
import { cocoLayout, isPanopticJson } from '../../src/data/layouts/coco';
import { scanFiles } from '../../src/data/layouts/scan';
import { buildTextClassifier } from '../../src/models/decoder/classHead';
import { decoderPreset } from '../../src/models/decoder/config';
import { M2FLang } from '../../src/models/decoder/m2fLang';
import { SafetensorsFile, writeSafetensors } from '../../src/models/weights/safetensors';
import { TorchZipFile } from '../../src/models/weights/torchZip';
import { restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';
import { createTrainer } from '../../src/train/createTrainer';
import type { Trainer } from '../../src/train/trainStep';
import { rawZip, stateDictFiles, torchZip } from '../hostile';
import type { FuzzTarget } from './fuzz';

const blobOf = (bytes: Uint8Array) => new Blob([bytes as BlobPart]);
const encode = (s: string) => new TextEncoder().encode(s);

const safetensors: FuzzTarget = {
  name: 'safetensors',
  seeds: async () => [
    writeSafetensors(
      {
        w: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) },
        ids: { dtype: 'I32', shape: [2], data: Int32Array.of(7, -3) },
      },
      { format: 'pt' },
    ),
    writeSafetensors({
      m: { dtype: 'U8', shape: [4, 1], data: Uint8Array.of(1, 2, 3, 4) },
      e: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
    }),
  ],
  run: async (bytes) => {
    const file = await SafetensorsFile.open(blobOf(bytes), 'fuzz.safetensors');
    for (const name of file.names) await file.read(name);
  },
};

const torchZipTarget: FuzzTarget = {
  name: 'torch zip + pickle',
  seeds: async () => {
    const files = stateDictFiles();
    const stored = Object.entries(files).map(([name, data]) => ({ name, data, method: 0 }));
    return [
      new Uint8Array(await (await torchZip(files)).arrayBuffer()),
      rawZip(stored),
      rawZip(stored.map((e) => (e.name.endsWith('.pkl') ? { ...e, method: 8 } : e))),
    ];
  },
  run: async (bytes) => {
    const file = await TorchZipFile.open(blobOf(bytes), 'fuzz.bin');
    for (const name of file.names) await file.read(name);
  },
};

const png: FuzzTarget = {
  name: 'PNG mask',
  seeds: async () => {
    const ids = Uint32Array.from({ length: 8 * 6 }, (_, i) => (i % 5) * 1000 + (i % 3));
    return [encodeIdPng(ids, 8, 6), encodeIdPng(new Uint32Array(3 * 2).fill(70000), 3, 2)];
  },
  run: async (bytes) => decodeMaskPng(bytes, 'fuzz.png', { path: 'fuzz.jpg', width: 8, height: 6 }),
};

const cocoJson: FuzzTarget = {
  name: 'COCO panoptic JSON',
  text: true,
  seeds: async () => [
    encode(
      JSON.stringify({
        images: [
          { id: 1, file_name: '0001.jpg', width: 8, height: 6 },
          { id: 2, file_name: '0002.jpg', width: 8, height: 6 },
        ],
        annotations: [
          {
            image_id: 1,
            file_name: '0001.png',
            segments_info: [{ id: 1001, category_id: 1, iscrowd: 0, area: 10, bbox: [0, 0, 2, 5] }],
          },
          { image_id: 2, file_name: '0002.png', segments_info: [] },
        ],
        categories: [
          { id: 1, name: 'person', isthing: 1 },
          { id: 2, name: 'sky', isthing: 0, supercategory: 'sky' },
        ],
      }),
    ),
  ],
  run: async (bytes) => {
    const path = 'd/annotations/panoptic_train.json';
    const json = parseJson(new TextDecoder().decode(bytes), path);
    if (!isPanopticJson(json)) return null;
    const image = blobOf(Uint8Array.of(0xff, 0xd8, 0xff));
    const scan = scanFiles([
      { path, file: blobOf(bytes) },
      { path: 'd/train/0001.jpg', file: image },
      { path: 'd/annotations/panoptic_train/0001.png', file: image },
    ]);
    return cocoLayout(scan, path, json, [path]);
  },
};

const rle: FuzzTarget = {
  name: 'COCO RLE',
  text: true,
  seeds: async () => {
    const mask = Uint8Array.from({ length: 7 * 5 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const counts = encodeMask(mask, 7, 5);
    return [encode(JSON.stringify(toCocoRle(counts))), encode(JSON.stringify(counts))];
  },
  run: async (bytes) => {
    const value = parseJson(new TextDecoder().decode(bytes), 'fuzz.json') as { size: unknown; counts: unknown };
    if (value === null || typeof value !== 'object') return null;
    return decodeMask(normalizeRle(value, 'fuzz.json'), 'fuzz.json');
  },
};

let trainer: Trainer | null = null;
function fuzzTrainer(): Trainer {
  if (!trainer) {
    const config = decoderPreset('tiny', {
      numQueries: 2,
      decoderLayers: 1,
      cropSize: 16,
      trainPoints: 4,
      hiddenDim: 16,
      ffnDim: 16,
      convDim: 16,
      maskDim: 16,
      encoderFfnDim: 16,
    });
    const classifier = buildTextClassifier(
      Float32Array.from({ length: 2 * config.embedDim }, (_, i) => Math.cos(i)),
      config.embedDim,
      [0, 1],
      2,
    );
    trainer = createTrainer('supervised', new M2FLang(config, 1), classifier, 10, 1);
  }
  return trainer;
}

/** Header and metadata are where a checkpoint is parsed: 9 cases in 10 mutate only them (the tensor data behind is payload). */
const checkpoint: FuzzTarget = {
  name: 'decoder checkpoint',
  seeds: async () => {
    await tf.setBackend('cpu');
    return [await saveCheckpoint(fuzzTrainer(), { stage: 'fuzz' })];
  },
  run: async (bytes) => restoreCheckpoint(fuzzTrainer(), bytes, { fileName: 'fuzz.safetensors' }),
  parsedPrefix: (bytes) => 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)),
};

export const FUZZ_TARGETS: FuzzTarget[] = [safetensors, torchZipTarget, png, cocoJson, rle, checkpoint];

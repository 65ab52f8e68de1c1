import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { importDecoderWeights } from '../models/decoder/bundleWeights';
import { decoderPreset } from '../models/decoder/config';
import { decoderParamTable } from '../models/decoder/m2fLang';
import { ParamStore } from '../models/decoder/params';
import { SafetensorsFile, writeSafetensors } from '../models/weights/safetensors';
import { sha256 } from 'hash-wasm';
import { buildModelBundle, readModelBundle, type BundleSource, type ModelBundle } from './modelBundle';

const config = decoderPreset('tiny');
const scratch = mkdtempSync(path.join(tmpdir(), 'dearli-bundle-'));
let parameters: Map<string, Float32Array>;
let bundle: ModelBundle;

beforeAll(async () => {
  await setupTestBackend();
  const store = new ParamStore(decoderParamTable(config), 7);
  parameters = new Map([...store.vars].map(([name, v]) => [name, v.dataSync() as Float32Array]));
  store.dispose();
  bundle = await buildModelBundle({
    labVersion: '0.1.0',
    name: 'demo tiny',
    decoder: config,
    classes: [{ id: 1, name: 'sky', synonyms: ['heaven'], isthing: false }],
    clip: { model: 'demo-clip', sha256: '0'.repeat(64) },
    stages: [{ kind: 'supervised', iterations: 10, batch: 2, cropSize: 64, learningRate: 1e-4 }],
    validation: { dataset: 'demo val', pq: 31.2, sq: 70.1, rq: 40.3, miou: 45 },
    parameters,
  });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const open = (bytes: Uint8Array) => SafetensorsFile.open(new Blob([bytes as BlobPart]), 'model.safetensors');

describe('model bundle', () => {
  it('imports back to the same weights, bit for bit', async () => {
    const back = await importDecoderWeights(config, await open(bundle.weights));
    expect([...back.keys()].sort()).toEqual([...parameters.keys()].sort());
    for (const [name, v] of parameters) expect(back.get(name), name).toEqual(v);
  });

  it('records the size and sha256 of its weights, and every tensor', () => {
    expect(bundle.card.weights.size).toBe(bundle.weights.length);
    expect(bundle.card.weights.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.card.weights.tensors.length).toBe(110);
    expect(bundle.readme).toContain(bundle.card.weights.sha256);
  });

  it('reads in Python through the safetensors format spec, as the card lists it', () => {
    writeFileSync(path.join(scratch, 'model.safetensors'), bundle.weights);
    writeFileSync(path.join(scratch, 'model.json'), JSON.stringify(bundle.card));
    const r = spawnSync('python3', ['scripts/check_model_bundle.py', scratch], { encoding: 'utf8' });
    if (r.error)
      throw new Error(
        `python3 with numpy is needed for this check (Debian: apt-get install python3-numpy): ${r.error.message}`,
      );
    expect(r.stdout + r.stderr).toContain('ok: 110 tensors');
    expect(r.status).toBe(0);

    const tampered = bundle.weights.slice();
    tampered[tampered.length - 1] ^= 1;
    writeFileSync(path.join(scratch, 'model.safetensors'), tampered);
    const bad = spawnSync('python3', ['scripts/check_model_bundle.py', scratch], { encoding: 'utf8' });
    expect(bad.stdout).toContain('sha256');
    expect(bad.status).toBe(1);
  });

  it('refuses a file of another preset, naming the tensor', async () => {
    const fewerQueries = decoderPreset('tiny', { numQueries: 5 });
    await expect(importDecoderWeights(fewerQueries, await open(bundle.weights))).rejects.toThrow(
      /query_feat.weight" is F32 \[12, 32\], expected F32 \[5, 32\]/,
    );
    const extra = await open(
      writeSafetensors({ 'backbone.clip_model.logit_scale': { dtype: 'F32', shape: [], data: new Float32Array(1) } }),
    );
    await expect(importDecoderWeights(config, extra)).rejects.toThrow(/not part of a "tiny" decoder/);
  });
});

describe('reading a bundle', () => {
  const source = (over: Partial<BundleSource> = {}): BundleSource => ({
    cardText: JSON.stringify(bundle.card),
    cardFrom: 'https://hub/alice/m/resolve/main/model.json',
    weights: new Blob([bundle.weights as BlobPart]),
    weightsFrom: 'model.safetensors',
    labVersion: '0.1.0',
    ...over,
  });

  it('gives the exported weights back after verifying card and weights', async () => {
    const text = JSON.stringify(bundle.card);
    const { card, parameters: back } = await readModelBundle(source({ expectedCardSha256: await sha256(text) }));
    expect(card).toEqual(bundle.card);
    for (const [name, v] of parameters) expect(back.get(name), name).toEqual(v);
  });

  it('refuses a tampered weight file, a wrong card sha256, a newer lab and an unknown preset', async () => {
    const tampered = bundle.weights.slice();
    tampered[tampered.length - 5] ^= 0x40;
    await expect(readModelBundle(source({ weights: new Blob([tampered as BlobPart]) }))).rejects.toThrow(
      /do not have the sha256 the card records/,
    );
    await expect(
      readModelBundle(source({ weights: new Blob([bundle.weights.slice(0, 100) as BlobPart]) })),
    ).rejects.toThrow(/the card says/);
    await expect(readModelBundle(source({ expectedCardSha256: 'f'.repeat(64) }))).rejects.toThrow(
      /sha256 the link carries/,
    );
    await expect(
      readModelBundle(source({ cardText: JSON.stringify({ ...bundle.card, labVersion: '0.3.0' }) })),
    ).rejects.toThrow(/newer than this lab/);
    await expect(
      readModelBundle(source({ cardText: JSON.stringify({ ...bundle.card, preset: 'huge' }) })),
    ).rejects.toThrow(/preset "huge" is not one this lab knows/);
    await expect(readModelBundle(source({ cardText: '<!doctype html><title>Sign in</title>' }))).rejects.toThrow(
      /not JSON/,
    );
  });
});

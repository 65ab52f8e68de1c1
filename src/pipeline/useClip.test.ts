/**
 * The CLIP a shared model names: a bundle made on the demo CLIP (loaded by URL) opens in a browser that
 * has never seen that CLIP by fetching it from the card's source through the weight cache; a source
 * that cannot be reached, or that now serves other weights, is refused naming the CLIP. A model made on
 * the offline stand-in opens by link while a CLIP loads (neither load cancels the other) and segments as it
 * does without a CLIP.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version as LAB_VERSION } from '../../package.json';
import * as store from '../data/store';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';
import { bundleFiles, shareLink } from './hubShare';
import { buildModelBundle, type ModelCard } from './modelBundle';
import { OFFLINE_BACKBONE_SHA256 } from './runBundle';
import type { ModelCard as ClipCard, RemoteClipRequest } from './modelsApi';

const DEMO_CLIP = path.resolve(import.meta.dirname, '../../public/demo-clip');
const pool = sessionPool();
let server: Server;
let base: string;
/** Files the server hands out besides the demo CLIP's (a bundle under /m/). */
const served = new Map<string, Uint8Array>();
let clipCard: ClipCard;
let parameters: Map<string, Float32Array>;
let decoder: ModelCard['decoder'];

async function randomDecoder(fitting: { channels: ModelCard['decoder']['trunkChannels']; embedDim: number }) {
  const config = decoderPreset('tiny', { trunkChannels: fitting.channels, embedDim: fitting.embedDim });
  const model = new M2FLang(config, 1);
  const weights = new Map<string, Float32Array>();
  for (const [name, v] of model.variables) weights.set(name, (await v.data()) as Float32Array);
  model.dispose();
  return { config, weights };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/clip\//, '');
    const known = ['demo-clip.safetensors', 'open_clip_config.json', 'bpe_simple_vocab_16e6.txt.gz'].includes(name);
    const body = known ? readFileSync(path.join(DEMO_CLIP, name)) : served.get(req.url ?? '');
    res.writeHead(body ? 200 : 404, { 'Content-Length': body?.length ?? 0 });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const author = await pool.open(
    (await demoDatabase({ width: 16, height: 16, labeled: 0, unlabeled: 0, validation: 1, seed: 2 })).name,
  );
  clipCard = await author.api().loadClip(
    {
      weights: { kind: 'url', url: `${base}/clip/demo-clip.safetensors` },
      config: { kind: 'next-to-weights' },
      tokenizer: { kind: 'url', url: `${base}/clip/bpe_simple_vocab_16e6.txt.gz` },
    },
    () => {},
  );
  ({ config: decoder, weights: parameters } = await randomDecoder(await author.clip.backbone()));
}, 120_000);

afterAll(async () => {
  await pool.closeAll();
  await new Promise((r) => server.close(r));
});

async function bundleOn(clip: ModelCard['clip'], made = { config: decoder, weights: parameters }): Promise<File[]> {
  const bundle = await buildModelBundle({
    labVersion: LAB_VERSION,
    name: 'random decoder',
    decoder: made.config,
    classes: [
      { id: 1, name: 'sky', synonyms: [], isthing: false },
      { id: 2, name: 'ball', synonyms: [], isthing: true },
    ],
    clip,
    stages: [],
    validation: null,
    parameters: made.weights,
  });
  return bundleFiles(bundle).map((f) => new File([f.content], f.path));
}

async function freshSession() {
  return pool.open(
    (await demoDatabase({ width: 16, height: 16, labeled: 0, unlabeled: 0, validation: 1, seed: 2 })).name,
  );
}

describe('the CLIP a shared model names', () => {
  it('is recorded with where it was fetched from', () => {
    expect(clipCard.remote).toEqual({
      weights: { kind: 'url', url: `${base}/clip/demo-clip.safetensors` },
      config: { kind: 'next-to-weights' },
      tokenizer: { kind: 'url', url: `${base}/clip/bpe_simple_vocab_16e6.txt.gz` },
    });
  });

  it('is fetched by its source in a browser that does not have it, and checked against the card', async () => {
    const reader = await freshSession();
    expect(await reader.api().currentClip()).toBeNull();
    const source = clipCard.remote!;
    await reader.api().importModelBundle(await bundleOn({ model: clipCard.name, sha256: clipCard.sha256, source }));
    expect((await reader.api().currentClip())?.sha256).toBe(clipCard.sha256);
  });

  it('that cannot be fetched, or has other weights now, is refused naming it', async () => {
    const reader = await freshSession();
    const gone: RemoteClipRequest = {
      ...clipCard.remote!,
      weights: { kind: 'url', url: `${base}/gone/demo-clip.safetensors` },
    };
    await expect(
      reader.api().importModelBundle(await bundleOn({ model: clipCard.name, sha256: clipCard.sha256, source: gone })),
    ).rejects.toThrow(`CLIP ${base}/gone/demo-clip.safetensors, which the model needs, could not be fetched`);
    await expect(
      reader
        .api()
        .importModelBundle(await bundleOn({ model: clipCard.name, sha256: 'f'.repeat(64), source: clipCard.remote! })),
    ).rejects.toThrow(/now has weights with sha256 .*, the model was trained on ffffffffffff/);
    await expect(
      reader.api().importModelBundle(await bundleOn({ model: clipCard.name, sha256: 'f'.repeat(64) })),
    ).rejects.toThrow(/names no place to fetch it from/);
  });

  it('refuses a card whose CLIP source is not a hub repository or an http(s) URL', async () => {
    const reader = await freshSession();
    const files = await bundleOn({
      model: clipCard.name,
      sha256: clipCard.sha256,
      source: { ...clipCard.remote!, weights: { kind: 'url', url: 'file:///etc/passwd' } },
    });
    await expect(reader.api().importModelBundle(files)).rejects.toThrow(
      /CLIP source is malformed .*not an http\(s\) URL/,
    );
  });

  it('is not needed by a model made on the offline stand-in: opened by link while a CLIP loads, both finish, and it segments as without a CLIP', async () => {
    const reader = await freshSession();
    const standIn = await reader.clip.backbone();
    const files = await bundleOn(
      { model: standIn.name, sha256: OFFLINE_BACKBONE_SHA256 },
      await randomDecoder(standIn),
    );
    for (const f of files) served.set(`/m/${f.name}`, new Uint8Array(await f.arrayBuffer()));
    const validation = (await store.listDatasets(reader.platform.db))[0].id;
    const image = (await store.listImages(reader.platform.db, validation, 0, 1))[0];
    const images = [new File([image.blob], image.fileName)];
    await reader.api().importModelBundle(files);
    const expected = await reader.api().segmentImages(images, 0.6);

    const other = await freshSession();
    const cardSha256 = createHash('sha256').update(served.get('/m/model.json')!).digest('hex');
    const [loaded] = await Promise.all([
      other.api().loadClip(clipCard.remote!, () => {}),
      other.api().openSharedModel(shareLink('http://lab.test/', `${base}/m/model.json`, cardSha256), () => {}),
    ]);
    expect(loaded.sha256).toBe(clipCard.sha256);
    expect(await other.api().segmentImages(images, 0.6)).toEqual(expected);
  });
});

/**
 * The demo CLIP as the lab loads it at page start: from its folder URL through the one weight cache,
 * config parsing and tokenizer, named for what it is; the browser's choice (demo, another CLIP, none)
 * comes back after a reload from the cache alone.
 */
import 'fake-indexeddb/auto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as store from '../data/store';
import { MemoryWeightCache } from '../models/weights/cache';
import { setupTestBackend } from '../../test/backend';
import { readFixtureBytes } from '../../test/fixtures';
import { nodePngDecoder } from '../../test/pipelineSession';
import { DEMO_CLIP_FILES, DEMO_CLIP_NAME, DEMO_CLIP_SHA256, demoClipRequest } from './demoClip';
import type { ModelDownloadProgress } from './modelsApi';
import { LabSession } from './session';

const DEMO_FOLDER = new URL('../../public/demo-clip/', import.meta.url);

let server: Server;
let folderUrl: string;
const requested: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requested.push(req.url!);
    const name = req.url!.replace('/demo-clip/', '');
    if (!Object.values(DEMO_CLIP_FILES).includes(name as never)) return res.writeHead(404).end();
    void readFile(new URL(name, DEMO_FOLDER)).then((body) =>
      res.writeHead(200, { 'content-length': body.length }).end(body),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  folderUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo-clip/`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const sessions: LabSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) {
    await s.dispose();
    s.platform.db.close();
  }
  requested.length = 0;
});

/** A session on `dbName` with `cache`: opening a second one on the same pair is a page reload. */
async function open(dbName: string, cache: MemoryWeightCache): Promise<LabSession> {
  const backend = await setupTestBackend();
  const s = new LabSession({ backend, db: await store.openStore(dbName), weightCache: cache, decode: nodePngDecoder });
  sessions.push(s);
  return s;
}

const noProgress = (_p: ModelDownloadProgress) => undefined;
let databases = 0;
const freshName = () => `demo-clip-test-${++databases}-${Date.now()}`;

describe('the demo CLIP at page start', () => {
  it('loads on a fresh profile, is named as the demo CLIP everywhere, and comes back after a reload with no request', async () => {
    const name = freshName();
    const cache = new MemoryWeightCache();
    const first = (await open(name, cache)).api();
    const restoring = first.restoreClip(demoClipRequest(folderUrl), noProgress);
    // Presets asked while it loads wait for it: a run started now trains on the demo CLIP.
    const presets = await first.trainingPresets(1);
    const card = await restoring;
    expect(card).toMatchObject({ kind: 'clip', name: DEMO_CLIP_NAME, sha256: DEMO_CLIP_SHA256 });
    expect(card!.details).toContain('image + text towers');
    expect(presets.backbone).toBe(`CLIP ${DEMO_CLIP_NAME}`);
    expect(presets.presets.map((p) => p.name)).toEqual(['tiny']);
    expect(requested.sort()).toEqual(
      Object.values(DEMO_CLIP_FILES)
        .map((f) => `/demo-clip/${f}`)
        .sort(),
    );
    const saved = await first.listSavedModels();
    expect(saved.map((m) => [m.card.name, m.available])).toEqual([[DEMO_CLIP_NAME, true]]);

    requested.length = 0;
    const reloaded = (await open(name, cache)).api();
    expect(await reloaded.currentClip()).toBeNull();
    const again = await reloaded.restoreClip(demoClipRequest(folderUrl), noProgress);
    expect(again).toMatchObject({ name: DEMO_CLIP_NAME, sha256: DEMO_CLIP_SHA256 });
    expect(requested).toEqual([]);
  });

  it('another CLIP the person loads replaces it after a reload; Unload leaves none', async () => {
    const name = freshName();
    const cache = new MemoryWeightCache();
    const first = (await open(name, cache)).api();
    await first.restoreClip(demoClipRequest(folderUrl), noProgress);
    const file = async (path: string, fileName: string) =>
      new File([(await readFixtureBytes(path)) as BlobPart], fileName);
    const tiny = await first.loadClip(
      {
        weights: {
          kind: 'file',
          file: await file('openclip-convnext-tiny/weights.safetensors', 'weights.safetensors'),
        },
        config: { kind: 'file', file: await file('openclip-convnext-tiny/config.json', 'config.json') },
        tokenizer: null,
      },
      noProgress,
    );
    expect(tiny.name).not.toBe(DEMO_CLIP_NAME);

    const second = (await open(name, cache)).api();
    expect(await second.restoreClip(demoClipRequest(folderUrl), noProgress)).toMatchObject({ sha256: tiny.sha256 });
    await second.unloadClip();

    requested.length = 0;
    const third = (await open(name, cache)).api();
    expect(await third.restoreClip(demoClipRequest(folderUrl), noProgress)).toBeNull();
    expect((await third.trainingPresets(1)).backbone).toMatch(/^random ConvNeXt/);
    expect(requested).toEqual([]);
  });
});

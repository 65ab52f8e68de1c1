/**
 * The Use service on the demo world: a briefly trained run exported as a bundle, imported in another
 * session (dropped zip, and a share link served over HTTP) gives the same weights and the same
 * segmentation; tampering is refused; the hub push and the predictions export carry the run's model.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobReader, TextWriter, ZipReader, type Entry, type FileEntry } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DearliError } from '../core/errors';
import * as store from '../data/store';
import { importDecoderWeights } from '../models/decoder/bundleWeights';
import { SafetensorsFile } from '../models/weights/safetensors';
import { demoDatabase, sessionPool } from '../../test/pipelineSession';
import { startFakeHub, type FakeHub } from '../../test/fakeHub';
import { shareLink } from './hubShare';
import type { LabSession } from './session';
import type { BundleDownload, SegmentedImage } from './useApi';

const pool = sessionPool();
let trained: LabSession;
let runId: string;
let bundle: BundleDownload;
let images: File[];
let expected: SegmentedImage[];
let served: Map<string, Uint8Array>;
let server: Server;
let base: string;
let ids: Record<string, string>;

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const bytes = async (b: Blob) => new Uint8Array(await b.arrayBuffer());
const entryText = (e: Entry) => (e as FileEntry).getData(new TextWriter());
const fileOf = (d: BundleDownload, path: string) => d.files.find((f) => f.path === path)!.content;

beforeAll(async () => {
  const demo = await demoDatabase({ width: 32, height: 32, labeled: 2, unlabeled: 0, validation: 1, seed: 5 });
  ids = demo.ids;
  trained = await pool.open(demo.name);
  const view = await trained.training.createRun({
    kind: 'supervised',
    preset: 'tiny',
    cropSize: 32,
    trainDatasetIds: [ids.labeled],
    validationDatasetId: ids.validation,
    iterations: 2,
    batchSize: 1,
    evalEvery: 0,
    validationImages: 1,
    learningRate: 1e-4,
    seed: 3,
  });
  runId = view.id;
  await trained.training.train(runId, new AbortController().signal);
  bundle = await trained.api().exportModelBundle(runId);
  const recs = await store.listImages(trained.platform.db, ids.validation, 0, 1);
  images = recs.map((r) => new File([r.blob], r.fileName));
  await trained.api().useRunModel(runId);
  expected = await trained.api().segmentImages(images, 0.6);

  served = new Map();
  for (const f of bundle.files) served.set(`/m/${f.path}`, await bytes(f.content));
  server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.writeHead(body ? 200 : 404, { 'Content-Length': body?.length ?? 0 });
    res.end(body ? Buffer.from(body) : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await pool.closeAll();
  await new Promise((r) => server.close(r));
});

async function freshSession(): Promise<LabSession> {
  const demo = await demoDatabase({ width: 32, height: 32, labeled: 1, unlabeled: 0, validation: 1, seed: 5 });
  return pool.open(demo.name);
}

describe('model bundle of a run', () => {
  it("carries the run's checkpoint weights bit for bit, its classes, stage and scores", async () => {
    const json = JSON.parse(await fileOf(bundle, 'model.json').text());
    expect(json).toMatchObject({
      preset: 'tiny',
      labVersion: '0.1.0',
      stages: [{ kind: 'supervised', iterations: 2, batch: 1 }],
      clip: { sha256: '0'.repeat(64) },
    });
    const dataset = await store.getDataset(trained.platform.db, ids.labeled);
    expect(json.classes.map((c: { id: number; isthing: boolean }) => [c.id, c.isthing])).toEqual(
      dataset!.categories.map((c) => [c.id, c.isthing]),
    );
    const run = await store.getRun<{ view: { evals: { pq: number }[] }; stage: { checkpoint: Blob } }>(
      trained.platform.db,
      runId,
    );
    expect(json.validation.pq).toBeCloseTo(100 * run!.state.view.evals.at(-1)!.pq, 10);
    const checkpoint = await SafetensorsFile.open(run!.state.stage.checkpoint);
    const back = await importDecoderWeights(
      json.decoder,
      await SafetensorsFile.open(fileOf(bundle, 'model.safetensors')),
    );
    for (const [name, v] of back) expect(v, name).toEqual((await checkpoint.read(`param/${name}`)).data);
    const zip = new ZipReader(new BlobReader(bundle.zip));
    const entries = await zip.getEntries();
    expect(entries.map((e) => e.filename).sort()).toEqual(['README.md', 'model.json', 'model.safetensors']);
    const cardInZip = entries.find((e) => e.filename === 'model.json')!;
    expect(await entryText(cardInZip)).toBe(await fileOf(bundle, 'model.json').text());
  });

  it('re-segments with the test-time ensemble at another α, the model alone at α = 1', async () => {
    const api = trained.api();
    const alone = (await api.segmentImages(images, null))[0];
    // A kept segment's score is a max over C classes + no-object that beat no-object: above 1 / (C + 1).
    const classes = JSON.parse(await fileOf(bundle, 'model.json').text()).classes.length;
    for (const s of alone.segments) expect(s.score).toBeGreaterThan(1 / (classes + 1));
    for (const s of alone.segments) expect(s.score).toBeLessThanOrEqual(1);
    // P_ENS at α = 1 is P_MT renormalised over the classes times (1 − p_void): the model's own posteriors.
    expect((await api.segmentImages(images, 1))[0].overlay).toEqual(alone.overlay);
    const clipOnly = (await api.segmentImages(images, 0))[0];
    expect(clipOnly.segments.map((s) => s.name)).not.toEqual(alone.segments.map((s) => s.name));
    expect((await api.segmentImages(images, 0.6))[0]).toEqual(expected[0]);
    await expect(api.segmentImages(images, 1.5)).rejects.toThrow(/α must lie between 0 and 1/);
  });

  it('lists the run among the runs the Use view can open', async () => {
    const runs = await trained.api().usableRuns();
    expect(runs.map((r) => r.id)).toEqual([runId]);
    expect(runs[0].label).toBe('supervised · tiny · 2/2 iterations · finished');
  });

  it('imported from its zip in another session, segments exactly as the run did', async () => {
    expect(expected[0].segments.length).toBeGreaterThan(0);
    const other = await freshSession();
    const view = await other.api().importModelBundle([new File([bundle.zip], 'model.zip')]);
    expect(view.card.weights.sha256).toBe(JSON.parse(await fileOf(bundle, 'model.json').text()).weights.sha256);
    const got = await other.api().segmentImages(images, 0.6);
    expect(got[0].segments).toEqual(expected[0].segments);
    expect(got[0].overlay).toEqual(expected[0].overlay);
  });

  it('opens from a share link over HTTP, and refuses a wrong sha256 or tampered weights', async () => {
    const other = await freshSession();
    const link = shareLink('http://lab.test/', `${base}/m/model.json`, bundle.cardSha256);
    const stages = new Set<string>();
    await other.api().openSharedModel(link, (p) => stages.add(p.stage));
    expect([...stages]).toEqual(expect.arrayContaining(['model card', 'weights']));
    expect((await other.api().segmentImages(images, 0.6))[0].overlay).toEqual(expected[0].overlay);

    await expect(
      other.api().openSharedModel(shareLink('http://lab.test/', `${base}/m/model.json`, 'e'.repeat(64)), () => {}),
    ).rejects.toThrow(/sha256 the link carries/);
    const weights = served.get('/m/model.safetensors')!;
    const tampered = weights.slice();
    tampered[tampered.length - 3] ^= 0x10;
    served.set('/t/model.json', served.get('/m/model.json')!);
    served.set('/t/model.safetensors', tampered);
    await expect(
      other.api().openSharedModel(shareLink('http://lab.test/', `${base}/t/model.json`, bundle.cardSha256), () => {}),
    ).rejects.toThrow(/do not have the sha256 the card records/);
    await expect(
      other
        .api()
        .openSharedModel(shareLink('http://lab.test/', `${base}/missing/model.json`, bundle.cardSha256), () => {}),
    ).rejects.toThrow(/404|could not be downloaded/);
  });

  it('refuses, saying what to do, a link to nowhere or to a web page, a card from a newer lab and an unknown preset', async () => {
    const other = await freshSession();
    const open = (cardUrl: string, cardSha256: string) =>
      other.api().openSharedModel(shareLink('http://lab.test/', cardUrl, cardSha256), () => {});
    const message = (e: unknown) => (e as DearliError).toJSON();
    // Port 1 on 127.0.0.1: nothing listens.
    const unreachable = await open('http://127.0.0.1:1/m/model.json', bundle.cardSha256).catch(message);
    expect(unreachable).toMatchObject({
      code: 'share-unreachable',
      problem: expect.stringContaining('http://127.0.0.1:1/m/model.json could not be downloaded'),
      fix: expect.stringContaining('CORS'),
    });
    const page = '<!doctype html><title>Sign in</title>';
    served.set('/page/model.json', new TextEncoder().encode(page));
    expect(await open(`${base}/page/model.json`, sha256Hex(page)).catch(message)).toMatchObject({
      code: 'bundle-card',
      problem: expect.stringContaining('model.json is not JSON'),
      fix: expect.stringContaining('not a web page'),
    });
    const card = JSON.parse(await fileOf(bundle, 'model.json').text());
    for (const [folder, changed, expected] of [
      ['newer', { ...card, labVersion: '99.0.0' }, { code: 'bundle-version', fix: 'Open it in an up-to-date lab.' }],
      [
        'preset',
        { ...card, preset: 'huge', decoder: { ...card.decoder, preset: 'huge' } },
        { code: 'bundle-preset', problem: expect.stringContaining('preset "huge" is not one this lab knows') },
      ],
    ] as const) {
      const text = JSON.stringify(changed);
      served.set(`/${folder}/model.json`, new TextEncoder().encode(text));
      served.set(`/${folder}/model.safetensors`, served.get('/m/model.safetensors')!);
      expect(await open(`${base}/${folder}/model.json`, sha256Hex(text)).catch(message)).toMatchObject(expected);
    }
  });
});

describe('hub push and predictions', () => {
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await startFakeHub(['hf_useTestTokenUseTestToken0000000']);
  });
  afterAll(() => hub.close());

  it("pushes the run's bundle and hands back a link to the pushed card", async () => {
    const { link, cardUrl } = await trained.api().pushToHub(runId, {
      repo: 'alice/demo',
      accessToken: 'hf_useTestTokenUseTestToken0000000',
      hubUrl: hub.url,
      labUrl: 'http://lab.test/',
    });
    const files = hub.repos.get('alice/demo')!;
    expect(new Uint8Array(files.get('model.safetensors')!)).toEqual(served.get('/m/model.safetensors'));
    expect(link).toBe(shareLink('http://lab.test/', cardUrl, bundle.cardSha256));
    const db = trained.platform.db;
    for (const name of Array.from(db.objectStoreNames)) {
      const records = await db.getAll(name);
      expect(JSON.stringify(records), name).not.toContain('hf_useTestToken');
    }
  });

  it("exports the model's predictions on a dataset as COCO panoptic", async () => {
    const zip = await trained.api().exportPredictions(ids.validation, 0.6);
    const entries = await new ZipReader(new BlobReader(zip)).getEntries();
    const json = JSON.parse(await entryText(entries.find((e) => e.filename === 'panoptic_pred.json')!));
    expect(json.annotations).toHaveLength(1);
    const classes = JSON.parse(await fileOf(bundle, 'model.json').text()).classes as { id: number; name: string }[];
    const names = json.annotations[0].segments_info.map(
      (s: { category_id: number }) => classes.find((c) => c.id === s.category_id)!.name,
    );
    expect(names).toEqual(expected[0].segments.map((s) => s.name));
  });

  it('for a dataset whose categories differ, lists the mismatch and exports by class name', async () => {
    const api = trained.api();
    expect(await api.predictionClasses(ids.validation)).toMatchObject({ same: true, unmatchedModel: [] });
    // The validation set's categories renumbered (+100), and the class of the first predicted segment renamed.
    const db = trained.platform.db;
    const dataset = (await store.getDataset(db, ids.validation))!;
    const gone = expected[0].segments[0].name;
    const categories = dataset.categories.map((c) => ({
      ...c,
      id: c.id + 100,
      name: c.name === gone ? 'heaven' : c.name,
    }));
    await db.put('datasets', { ...dataset, categories });
    const match = await api.predictionClasses(ids.validation);
    expect(match).toMatchObject({ same: false, unmatchedModel: [gone], unmatchedDataset: ['heaven'] });
    expect(match.byName).toHaveLength(categories.length - 1);

    const zip = await api.exportPredictions(ids.validation, 0.6, true);
    const entries = await new ZipReader(new BlobReader(zip)).getEntries();
    const json = JSON.parse(await entryText(entries.find((e) => e.filename === 'panoptic_pred.json')!));
    expect(json.categories.map((c: { id: number; name: string }) => [c.id, c.name])).toEqual(
      categories.map((c) => [c.id, c.name]),
    );
    const named = (json.annotations[0].segments_info as { category_id: number }[]).map(
      (s) => categories.find((c) => c.id === s.category_id)!.name,
    );
    // The renamed class's segment is left out (void); every other keeps its class, now in the dataset's ids.
    expect(named).toEqual(expected[0].segments.map((s) => s.name).filter((n) => n !== gone));
    await db.put('datasets', dataset);
  });
});

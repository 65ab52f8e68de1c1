import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { planImport } from './import';
import { commitImport } from './importCommit';
import {
  beginDataset,
  countImages,
  countSamMasks,
  deleteDataset,
  getDataset,
  getFeature,
  getImage,
  getModel,
  getRun,
  getSamMasks,
  listDatasets,
  listFeatureKeys,
  listImages,
  listModels,
  listRuns,
  openStore,
  putFeature,
  putImages,
  putModel,
  putRun,
  putSamMasks,
  renameDataset,
  requestPersistence,
  storageEstimate,
  type DearliDB,
} from './store';
import { cocoFolder } from '../../test/dataBuilders';

let name: string;
let db: DearliDB;

beforeEach(async () => {
  name = `store-test-${crypto.randomUUID()}`;
  db = await openStore(name);
});

afterEach(() => {
  vi.restoreAllMocks();
  db.close();
});

async function importSmall(count: number, datasetName = 'small') {
  const specs = Array.from({ length: count }, (_, i) => ({ name: `img${String(i).padStart(3, '0')}.png` }));
  return commitImport(
    db,
    await planImport(cocoFolder(specs, { root: datasetName })),
    { name: datasetName, role: 'labeled' },
    { batchSize: 4 },
  );
}

/** Everything in the database, to compare before and after a failed import. */
async function snapshot() {
  return {
    datasets: await db.getAll('datasets'),
    imageKeys: await db.getAllKeys('images'),
  };
}

describe('datasets and images', () => {
  it('lists committed datasets, pages images by offset and limit, renames and deletes', async () => {
    const a = await importSmall(10, 'a');
    const b = await importSmall(3, 'b');
    expect((await listDatasets(db)).map((d) => d.name)).toEqual(['a', 'b']);
    expect(await countImages(db, a.id)).toBe(10);
    expect((await listImages(db, a.id, 4, 3)).map((i) => i.fileName)).toEqual([
      'img004.png',
      'img005.png',
      'img006.png',
    ]);
    expect((await listImages(db, a.id, 8, 5)).map((i) => i.index)).toEqual([8, 9]);
    expect(await listImages(db, a.id, 20, 5)).toEqual([]);
    const first = (await listImages(db, b.id, 0, 1))[0];
    expect(await getImage(db, first.id)).toMatchObject({
      datasetId: b.id,
      fileName: 'img000.png',
      width: 8,
      height: 6,
    });

    await renameDataset(db, a.id, 'renamed');
    expect((await getDataset(db, a.id))?.name).toBe('renamed');

    await putSamMasks(db, {
      imageId: first.id,
      datasetId: b.id,
      source: 'sam',
      masks: [{ segmentation: { size: [6, 8], counts: '0`0' }, area: 48 }],
      params: { points: 16 },
      createdAt: 1,
    });
    await putFeature(db, {
      key: `clip:${first.id}`,
      datasetId: b.id,
      meta: { shape: [1, 2] },
      blob: new Blob([new Uint8Array(8)]),
    });
    await putFeature(db, { key: 'text:prompts', meta: {}, blob: new Blob(['x']) });
    expect(await countSamMasks(db, b.id)).toBe(1);
    await deleteDataset(db, b.id);
    expect(await getDataset(db, b.id)).toBeUndefined();
    expect(await countImages(db, b.id)).toBe(0);
    expect(await getSamMasks(db, first.id)).toBeUndefined();
    expect(await listFeatureKeys(db)).toEqual(['text:prompts']);
    expect(await countImages(db, a.id)).toBe(10);
  });

  it('sweeps an import that crashed before committing when the store is opened again', async () => {
    const kept = await importSmall(2);
    await beginDataset(db, {
      id: 'crashed',
      name: 'half',
      role: 'unlabeled',
      layout: 'unlabeled',
      categories: [],
      imageCount: 5,
      labeledCount: 0,
      bytes: 0,
      createdAt: 0,
    });
    const stored = await listImages(db, kept.id, 0, 1);
    await putImages(db, [{ ...stored[0], id: 'crashed:0', datasetId: 'crashed', index: 0 }]);
    expect(await listDatasets(db)).toHaveLength(1); // never visible
    db.close();
    db = await openStore(name);
    expect(await db.get('datasets', 'crashed')).toBeUndefined();
    expect(await countImages(db, 'crashed')).toBe(0);
    expect(await countImages(db, kept.id)).toBe(2);
  });
});

describe('imports commit whole or not at all', () => {
  it('cancel mid-import leaves nothing', async () => {
    await importSmall(2, 'existing');
    const before = await snapshot();
    const plan = await planImport(cocoFolder(Array.from({ length: 12 }, (_, i) => ({ name: `c${i}.png` }))));
    const abort = new AbortController();
    const progress: number[] = [];
    const commit = commitImport(
      db,
      plan,
      { name: 'cancelled', role: 'labeled' },
      {
        signal: abort.signal,
        batchSize: 2,
        onProgress: (p) => {
          progress.push(p.done);
          abort.abort();
        },
      },
    );
    await expect(commit).rejects.toMatchObject({ code: 'cancelled' });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toBeLessThan(12);
    expect(await snapshot()).toEqual(before);
  });

  it('a storage quota running out halfway gives a clear message and leaves the store unchanged', async () => {
    await importSmall(2, 'existing');
    const before = await snapshot();
    const plan = await planImport(cocoFolder(Array.from({ length: 10 }, (_, i) => ({ name: `q${i}.png` }))));
    const put = IDBObjectStore.prototype.put;
    let imagePuts = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      if (this.name === 'images' && ++imagePuts > 5)
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    });
    const error = await commitImport(db, plan, { name: 'too big', role: 'labeled' }, { batchSize: 2 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'storage-full' });
    expect((error as Error).message).toMatch(/quota ran out after 4 of 10 images; nothing of this import was kept/);
    expect((error as { fix: string }).fix).toMatch(/Free space/);
    vi.restoreAllMocks();
    expect(await snapshot()).toEqual(before);
  });
});

describe('storage space', () => {
  it('refuses up front an import larger than the space the browser grants, writing nothing', async () => {
    await importSmall(1, 'existing');
    const before = await snapshot();
    const plan = await planImport(cocoFolder([{ name: 'a.png' }, { name: 'b.png' }]));
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 9_900, quota: 10_000 }) } });
    try {
      expect(await storageEstimate()).toEqual({ usage: 9_900, quota: 10_000 });
      const error = await commitImport(db, plan, { name: 'big', role: 'labeled' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'storage-insufficient' });
      expect((error as Error).message).toMatch(/only 0\.0 MB more/);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('stores used by later stages', () => {
  it('keeps runs and models', async () => {
    await putRun(db, { id: 'r1', updatedAt: 1, state: { step: 3, rng: [1, 2, 3, 4] } });
    expect((await getRun<{ step: number }>(db, 'r1'))?.state.step).toBe(3);
    expect(await listRuns(db)).toHaveLength(1);
    await putModel(db, { id: 'clip-convnext-b', updatedAt: 1, meta: { bytes: 10 } });
    expect((await getModel(db, 'clip-convnext-b'))?.meta.bytes).toBe(10);
    expect(await listModels(db)).toHaveLength(1);
    expect(await getFeature(db, 'none')).toBeUndefined();
  });

  it('upgrades a version-1 database: its data stays, the unused checkpoints store goes', async () => {
    const name = `dearli-v1-${Math.random()}`;
    const v1 = await openDB(name, 1, {
      upgrade(database) {
        database.createObjectStore('datasets', { keyPath: 'id' });
        database.createObjectStore('images', { keyPath: 'id' }).createIndex('byDataset', ['datasetId', 'index']);
        database.createObjectStore('samMasks', { keyPath: 'imageId' }).createIndex('byDataset', 'datasetId');
        database.createObjectStore('features', { keyPath: 'key' }).createIndex('byDataset', 'datasetId');
        database.createObjectStore('runs', { keyPath: 'id' });
        database.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('byRun', 'runId');
        database.createObjectStore('models', { keyPath: 'id' });
      },
    });
    await v1.put('runs', { id: 'r1', updatedAt: 1, state: { step: 2 } });
    v1.close();
    const upgraded = await openStore(name);
    expect([...upgraded.objectStoreNames]).not.toContain('checkpoints');
    expect((await getRun<{ step: number }>(upgraded, 'r1'))?.state.step).toBe(2);
    upgraded.close();
  });

  it('reports no storage estimate and no persistence where the Storage API is absent (Node)', async () => {
    expect(await storageEstimate()).toBeNull();
    expect(await requestPersistence()).toBe(false);
  });
});

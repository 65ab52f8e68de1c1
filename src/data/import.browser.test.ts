// The browser-only paths of the data layer: real IndexedDB with Blobs, thumbnails through
// createImageBitmap + OffscreenCanvas, Web Locks protecting a running import from the sweep.
import { describe, expect, it } from 'vitest';
import { importDemoDatasets } from './demo';
import { planImport } from './import';
import { commitImport } from './importCommit';
import { beginDataset, importLockName, listDatasets, listImages, openStore, storageEstimate } from './store';
import { blobOf, fakeJpeg, rgbPng } from '../../test/dataBuilders';

describe('data layer in Chromium', () => {
  it('imports the demo with thumbnails and reports storage use', async () => {
    const db = await openStore(`browser-${crypto.randomUUID()}`);
    const [labeled] = await importDemoDatasets(db, {
      width: 200,
      height: 120,
      labeled: 2,
      unlabeled: 1,
      validation: 1,
    });
    const [first] = await listImages(db, labeled.id, 0, 1);
    expect(first.thumbnail?.type).toBe('image/jpeg');
    const thumbnail = await createImageBitmap(first.thumbnail!);
    expect([thumbnail.width, thumbnail.height]).toEqual([160, 96]);
    expect((await createImageBitmap(first.blob)).width).toBe(200);
    const estimate = await storageEstimate();
    expect(estimate!.quota).toBeGreaterThan(0);
    db.close();
  });

  it('makes no thumbnail of an image no larger than one: the image is shown itself', async () => {
    const db = await openStore(`browser-${crypto.randomUUID()}`);
    const plan = await planImport([
      { path: 'photos/small.png', file: blobOf(rgbPng(160, 40)) },
      { path: 'photos/wide.png', file: blobOf(rgbPng(161, 40)) },
    ]);
    const dataset = await commitImport(db, plan, { name: 'x', role: 'unlabeled' });
    const [small, wide] = await listImages(db, dataset.id, 0, 2);
    expect(small.fileName).toBe('small.png');
    expect(small.thumbnail).toBeUndefined();
    expect(wide.thumbnail?.type).toBe('image/jpeg');
    db.close();
  });

  it('does not sweep an uncommitted dataset whose import still holds its lock', async () => {
    const name = `browser-${crypto.randomUUID()}`;
    const db = await openStore(name);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const lock = navigator.locks.request(importLockName('running'), async () => {
      locked();
      await held;
    });
    await isLocked;
    await beginDataset(db, {
      id: 'running',
      name: 'r',
      role: 'unlabeled',
      layout: 'unlabeled',
      categories: [],
      imageCount: 0,
      labeledCount: 0,
      bytes: 0,
      createdAt: 0,
    });
    db.close();
    const again = await openStore(name);
    expect(await again.get('datasets', 'running')).toBeDefined();
    release();
    await lock;
    again.close();
    const third = await openStore(name);
    expect(await third.get('datasets', 'running')).toBeUndefined();
    third.close();
  });

  it('rolls back when the browser cannot decode an image that passed the header checks', async () => {
    const db = await openStore(`browser-${crypto.randomUUID()}`);
    const plan = await planImport([
      { path: 'photos/good.png', file: blobOf(rgbPng(4, 4)) },
      { path: 'photos/garbage.jpg', file: blobOf(fakeJpeg(4, 4)) },
    ]);
    expect(plan.errors).toEqual([]);
    await expect(commitImport(db, plan, { name: 'x', role: 'unlabeled' })).rejects.toMatchObject({
      code: 'corrupt-image',
      file: 'photos/garbage.jpg',
    });
    expect(await listDatasets(db)).toEqual([]);
    expect(await db.count('images')).toBe(0);
    db.close();
  });
});

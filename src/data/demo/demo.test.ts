import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { decodeMaskPng } from '../decode';
import { planImport } from '../import';
import { listDatasets, listImages, openStore } from '../store';
import { bytesOf } from '../../../test/dataBuilders';
import { measureSegments } from '../validate';
import {
  DEMO_CATEGORIES,
  demoAsCocoFiles,
  generateDemoDataset,
  generateDemoImage,
  importDemoDatasets,
  iterateDemoSplit,
} from '.';

const SMALL = { seed: 7, width: 64, height: 48, labeled: 3, unlabeled: 2, validation: 2 };

async function filesAsBytes(seed: number) {
  const files = demoAsCocoFiles(generateDemoDataset({ ...SMALL, seed }));
  return Promise.all(files.map(async (f) => [f.path, await bytesOf(f.file)] as const));
}

describe('demo world', () => {
  it('is deterministic: the same seed gives the same bytes, another seed other bytes', async () => {
    const a = await filesAsBytes(7);
    const b = await filesAsBytes(7);
    expect(b).toEqual(a);
    const c = await filesAsBytes(8);
    expect(c.map(([p]) => p)).toEqual(a.map(([p]) => p));
    expect(c.find(([p]) => p.endsWith('.json'))![1]).not.toEqual(a.find(([p]) => p.endsWith('.json'))![1]);
  });

  it('keeps a split unchanged when another split grows', () => {
    const first = [...iterateDemoSplit(SMALL, 'labeled')];
    const more = [...iterateDemoSplit({ ...SMALL, unlabeled: 9 }, 'labeled')];
    expect(more.map((r) => r.rgb)).toEqual(first.map((r) => r.rgb));
  });

  it('lists every pixel id in segments, with exact areas and bboxes', () => {
    const rng = new Rng(3);
    for (let n = 0; n < 12; n++) {
      const image = generateDemoImage(rng, { width: 96, height: 64 });
      const measured = measureSegments(image.ids, 96);
      expect(image.segments.map((s) => s.id)).toEqual([...measured.keys()].sort((a, b) => a - b));
      for (const s of image.segments) {
        expect(s.area).toBe(measured.get(s.id)!.area);
        expect(s.bbox).toEqual(measured.get(s.id)!.bbox);
        expect(DEMO_CATEGORIES.some((c) => c.id === s.category_id)).toBe(true);
      }
      expect(image.segments.reduce((sum, s) => sum + s.area!, 0)).toBe(96 * 64);
      expect(image.rgb).toHaveLength(96 * 64 * 3);
    }
  });

  it('draws every category somewhere in the default demo, with small and large things', () => {
    const demo = generateDemoDataset();
    const images = demo.splits.flatMap((s) => s.images);
    expect(images).toHaveLength(8 + 48 + 16);
    const seen = new Set(images.flatMap((i) => i.segments.map((s) => s.category_id)));
    expect([...seen].sort((a, b) => a - b)).toEqual(DEMO_CATEGORIES.map((c) => c.id).sort((a, b) => a - b));
    const thingAreas = images.flatMap((i) => i.segments.filter((s) => s.category_id < 100).map((s) => s.area!));
    const small = thingAreas.filter((a) => a < 0.01 * 256 * 256);
    expect(small.length).toBeGreaterThan(10);
    expect(Math.min(...small)).toBeLessThan(100);
    expect(Math.max(...thingAreas)).toBeGreaterThan(0.06 * 256 * 256);
  });

  it('passes the importer with no errors, split by split', async () => {
    const demo = generateDemoDataset(SMALL);
    for (const split of demo.splits) {
      const plan = await planImport(demoAsCocoFiles(demo, split), { role: split.role });
      expect(plan.errors).toEqual([]);
      expect(plan.notices).toEqual([]);
      expect(plan).toMatchObject({
        imageCount: split.images.length,
        layout: split.role === 'unlabeled' ? 'unlabeled' : 'coco-panoptic',
        suggestedRole: split.role,
      });
      if (split.role !== 'unlabeled')
        expect(plan.images.map((i) => i.mask!.segments)).toEqual(split.images.map((i) => i.segments));
    }
  });

  it('imports all three splits into the store, masks decoding to the generated ids', async () => {
    const db = await openStore('demo-test');
    const progress: string[] = [];
    const datasets = await importDemoDatasets(db, SMALL, { onProgress: (p) => progress.push(p.stage) });
    expect(datasets.map((d) => [d.name, d.role, d.imageCount, d.labeledCount])).toEqual([
      ['Demo · labeled', 'labeled', 3, 3],
      ['Demo · unlabeled', 'unlabeled', 2, 0],
      ['Demo · validation', 'validation', 2, 2],
    ]);
    expect(progress).toContain('importing validation');
    const stored = (await listImages(db, datasets[0].id, 0, 1))[0];
    const generated = [...iterateDemoSplit(SMALL, 'labeled')][0];
    expect(decodeMaskPng(new Uint8Array(await stored.mask!.arrayBuffer()), 'm').ids).toEqual(generated.ids);
    expect(await listDatasets(db)).toHaveLength(3);
    const withoutUnlabeled = await importDemoDatasets(db, { ...SMALL, unlabeled: 0 });
    expect(withoutUnlabeled.map((d) => d.role)).toEqual(['labeled', 'validation']);
    db.close();
  });

  it('imports nothing when cancelled', async () => {
    const db = await openStore('demo-cancel-test');
    const abort = new AbortController();
    const run = importDemoDatasets(db, SMALL, {
      signal: abort.signal,
      onProgress: (p) => p.stage === 'importing unlabeled' && abort.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(await db.getAll('datasets')).toEqual([]);
    expect(await db.count('images')).toBe(0);
    db.close();
  });
});

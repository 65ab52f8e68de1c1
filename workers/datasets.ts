/**
 * The dataset half of the pipeline API: import, list, inspect, rename, delete. Runs in the worker
 * so that parsing masks and writing IndexedDB never block the page.
 */
import { DearliError } from '../src/core/errors';
import type { Category } from '../src/core/panoptic';
import { decodeMaskPng } from '../src/data/decode';
import { importDemoDatasets } from '../src/data/demo';
import { commitImports, planImports, summarizePlan } from '../src/data/import';
import * as store from '../src/data/store';
import type { ImportPlanSet } from '../src/data/types';
import { db, userFacing } from './shared';
import type { DatasetApi, DatasetSummary, ImageDetail, ImageSummary, ImportChoice, SegmentView } from './api';

const plans = new Map<string, ImportPlanSet>();
let importAbort: AbortController | null = null;

function summary(d: store.DatasetRecord): DatasetSummary {
  return {
    id: d.id,
    name: d.name,
    role: d.role,
    layout: d.layout,
    imageCount: d.imageCount,
    bytes: d.bytes,
    createdAt: d.createdAt,
    categoryCount: d.categories.length,
  };
}

/** A stable colour per segment: the category colour for stuff, a jittered one per thing instance. */
function segmentColor(id: number, cat: Category | undefined): [number, number, number] {
  const base = cat?.color ?? [(id * 97) % 256, (id * 57) % 256, (id * 31) % 256];
  if (!cat?.isthing) return [base[0], base[1], base[2]];
  const h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  const jitter = (k: number) => ((h >>> (k * 8)) & 63) - 32;
  const clamp = (v: number) => Math.max(0, Math.min(255, v));
  return [clamp(base[0] + jitter(0)), clamp(base[1] + jitter(1)), clamp(base[2] + jitter(2))];
}

async function importPlans(set: ImportPlanSet, choices: ImportChoice[], onProgress: Parameters<DatasetApi['commitImport']>[2]) {
  importAbort = new AbortController();
  try {
    return await commitImports(await db(), set, choices, { signal: importAbort.signal, onProgress });
  } finally {
    importAbort = null;
  }
}

export const datasetService: DatasetApi = {
  planImport: userFacing(async (files) => {
    const set = await planImports(files);
    const planId = crypto.randomUUID();
    plans.clear();
    plans.set(planId, set);
    return {
      planId,
      splits: set.splits.map((plan) => {
        const s = summarizePlan(plan);
        return {
          layout: s.layout,
          annotationFile: s.annotationFile,
          imageCount: s.imageCount,
          labeledCount: s.labeledCount,
          categories: s.categories.map((c) => ({ id: c.id, name: c.name, isthing: c.isthing })),
          notices: s.notices,
          errors: s.errors,
          suggestedName: s.suggestedName,
          suggestedRole: s.suggestedRole,
        };
      }),
      notices: set.notices,
      errors: set.errors,
    };
  }),

  commitImport: userFacing(async (planId, choices, onProgress) => {
    const set = plans.get(planId);
    if (!set) throw new DearliError('plan-expired', 'this import preview is no longer available', 'Drop the folder again.');
    const records = await importPlans(set, choices, onProgress);
    plans.delete(planId);
    return records.map(summary);
  }),

  cancelImport: async () => {
    importAbort?.abort();
  },

  ensureDemoDatasets: userFacing(async (onProgress) => {
    const d = await db();
    if ((await store.listDatasets(d)).length > 0) return null;
    importAbort = new AbortController();
    try {
      return (await importDemoDatasets(d, {}, { signal: importAbort.signal, onProgress: (p) => onProgress({ ...p, stage: `demo: ${p.stage}` }) })).map(summary);
    } finally {
      importAbort = null;
    }
  }),

  listDatasets: userFacing(async () => (await store.listDatasets(await db())).map(summary)),

  renameDataset: userFacing(async (id, name) => store.renameDataset(await db(), id, name)),

  deleteDataset: userFacing(async (id) => store.deleteDataset(await db(), id)),

  listImages: userFacing(async (datasetId, offset, limit): Promise<ImageSummary[]> => {
    const records = await store.listImages(await db(), datasetId, offset, limit);
    return records.map((r) => ({ id: r.id, fileName: r.fileName, width: r.width, height: r.height, thumbnail: r.thumbnail ?? r.blob, labeled: !!r.mask }));
  }),

  getImageDetail: userFacing(async (imageId): Promise<ImageDetail> => {
    const d = await db();
    const rec = await store.getImage(d, imageId);
    if (!rec) throw new DearliError('not-found', `image ${imageId} is not stored`, 'It may have been deleted; reload the dataset.');
    const base = { id: rec.id, fileName: rec.fileName, width: rec.width, height: rec.height, image: rec.blob };
    if (!rec.mask || !rec.segments) return { ...base, overlay: null, segments: [] };
    const dataset = await store.getDataset(d, rec.datasetId);
    const categories = new Map((dataset?.categories ?? []).map((c) => [c.id, c]));
    const { ids } = decodeMaskPng(new Uint8Array(await rec.mask.arrayBuffer()), rec.fileName);
    const total = rec.width * rec.height;
    const segments: SegmentView[] = rec.segments.map((s) => {
      const cat = categories.get(s.category_id);
      return {
        id: s.id,
        categoryId: s.category_id,
        name: cat?.name ?? `category ${s.category_id}`,
        isthing: !!cat?.isthing,
        iscrowd: s.iscrowd === 1,
        area: s.area ?? 0,
        share: (s.area ?? 0) / total,
        color: segmentColor(s.id, cat),
      };
    });
    const colorOf = new Map(segments.map((s) => [s.id, s.color]));
    const rgba = new Uint8ClampedArray(total * 4);
    for (let i = 0; i < total; i++) {
      const c = colorOf.get(ids[i]);
      if (!c) continue;
      rgba[4 * i] = c[0];
      rgba[4 * i + 1] = c[1];
      rgba[4 * i + 2] = c[2];
      rgba[4 * i + 3] = 255;
    }
    return { ...base, overlay: { rgba, ids }, segments: segments.sort((a, b) => b.area - a.area) };
  }),

  storageInfo: async () => {
    const e = await store.storageEstimate();
    return { usage: e?.usage ?? 0, quota: e?.quota ?? 0 };
  },
};

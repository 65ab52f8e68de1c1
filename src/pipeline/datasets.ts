/**
 * The datasets service: import, list, inspect, rename, delete. Runs in the worker so that parsing
 * masks and writing IndexedDB never block the page.
 */
import { DearliError } from '../core/errors';
import { decodeMaskPng } from '../data/decode';
import { importDemoDatasets } from '../data/demo';
import { planImports, summarizePlan } from '../data/import';
import { commitImports } from '../data/importCommit';
import * as store from '../data/store';
import type { ImportPlanSet } from '../data/types';
import type { DatasetApi, DatasetSummary, ImageDetail, ImageSummary, SegmentView } from './datasetsApi';
import { paintOverlay, segmentColor } from './segmentColors';

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

export function createDatasetService(db: store.DearliDB): DatasetApi {
  const plans = new Map<string, ImportPlanSet>();
  let importAbort: AbortController | null = null;

  async function withImportAbort<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    importAbort = new AbortController();
    try {
      return await work(importAbort.signal);
    } finally {
      importAbort = null;
    }
  }

  return {
    planImport: async (files) => {
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
    },

    commitImport: async (planId, choices, onProgress) => {
      const set = plans.get(planId);
      if (!set)
        throw new DearliError('plan-expired', 'this import preview is no longer available', 'Drop the folder again.');
      const records = await withImportAbort((signal) => commitImports(db, set, choices, { signal, onProgress }));
      plans.delete(planId);
      return records.map(summary);
    },

    cancelImport: async () => {
      importAbort?.abort();
    },

    ensureDemoDatasets: async (onProgress) => {
      if ((await store.listDatasets(db)).length > 0) return null;
      const records = await withImportAbort((signal) =>
        importDemoDatasets(db, {}, { signal, onProgress: (p) => onProgress({ ...p, stage: `demo: ${p.stage}` }) }),
      );
      return records.map(summary);
    },

    listDatasets: async () => (await store.listDatasets(db)).map(summary),
    renameDataset: (id, name) => store.renameDataset(db, id, name),
    deleteDataset: (id) => store.deleteDataset(db, id),

    listImages: async (datasetId, offset, limit): Promise<ImageSummary[]> => {
      const records = await store.listImages(db, datasetId, offset, limit);
      return records.map((r) => ({
        id: r.id,
        fileName: r.fileName,
        width: r.width,
        height: r.height,
        thumbnail: r.thumbnail ?? r.blob,
        labeled: !!r.mask,
      }));
    },

    getImageDetail: async (imageId): Promise<ImageDetail> => {
      const rec = await store.getImage(db, imageId);
      if (!rec)
        throw new DearliError(
          'not-found',
          `image ${imageId} is not stored`,
          'It may have been deleted; reload the dataset.',
        );
      const base = { id: rec.id, fileName: rec.fileName, width: rec.width, height: rec.height, image: rec.blob };
      if (!rec.mask || !rec.segments) return { ...base, overlay: null, segments: [] };
      const dataset = await store.getDataset(db, rec.datasetId);
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
      const rgba = paintOverlay(ids, (id) => colorOf.get(id));
      return { ...base, overlay: { rgba, ids }, segments: segments.sort((a, b) => b.area - a.area) };
    },
  };
}

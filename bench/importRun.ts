/**
 * One run of the import benchmark: generates `count` demo-world images with panoptic masks as a
 * COCO panoptic folder of Files on the page, then imports them as the lab does, through the lab's
 * pipeline worker (planImport, then commitImport into its IndexedDB), and deletes the dataset. The
 * worker's JS heap comes from scripts/benchWorkerHeap.mjs (window.__benchWorkerHeap, set by
 * scripts/bench.mjs): collected and read before the run, sampled every 20 ms while it runs.
 */
import { DEMO_DEFAULTS, demoSplitEntries, iterateDemoSplit } from '../src/data/demo';
import type { DroppedFile } from '../src/pipeline/datasetsApi';
import { callback, pipeline } from '../src/ui/pipeline';

export interface ImportBenchRequest {
  count: number;
  size: number;
}

export interface ImportBenchResult {
  count: number;
  size: number;
  fileBytes: number;
  generateMs: number;
  planMs: number;
  commitMs: number;
  /**
   * The worker's used JS heap (bytes): at the start after a collection, the peaks while planning
   * (the plan lists every file; the annotation JSON is parsed) and while committing, and what the
   * plan holds (collected after planning, while the worker keeps the plan for the commit).
   */
  heap: { start: number; peakPlan: number; afterPlan: number; peakCommit: number } | null;
  errors: number;
}

type HeapRequest = { op: 'gc' | 'start'; url: string } | { op: 'peak' | 'stop' };

declare global {
  interface Window {
    __benchWorkerHeap?: (request: HeapRequest) => Promise<number>;
  }
}

/** The part of the lab worker's script URL that identifies it. */
const WORKER_URL = 'pipeline.worker';

export async function runImport({ count, size }: ImportBenchRequest): Promise<ImportBenchResult> {
  const lab = pipeline();
  // The session (tfjs backend, IndexedDB) starts on the first call: not part of the import.
  await lab.listDatasets();
  const heap = window.__benchWorkerHeap;
  const start = (await heap?.({ op: 'gc', url: WORKER_URL })) ?? null;

  const t0 = performance.now();
  const files: DroppedFile[] = [];
  let fileBytes = 0;
  const options = { ...DEMO_DEFAULTS, width: size, height: size, labeled: count };
  for (const { path, bytes } of demoSplitEntries('labeled', iterateDemoSplit(options, 'labeled'))) {
    files.push({ path, file: new File([bytes as Uint8Array<ArrayBuffer>], path.split('/').pop()!) });
    fileBytes += bytes.length;
  }
  const generateMs = performance.now() - t0;

  await heap?.({ op: 'start', url: WORKER_URL });
  try {
    const t1 = performance.now();
    const preview = await lab.planImport(files);
    const t2 = performance.now();
    const peakPlan = (await heap?.({ op: 'peak' })) ?? null;
    const afterPlan = (await heap?.({ op: 'gc', url: WORKER_URL })) ?? null;
    await heap?.({ op: 'peak' });
    const choices = preview.splits.map((split) => ({ name: 'bench', role: split.suggestedRole }));
    const datasets = await lab.commitImport(
      preview.planId,
      choices,
      callback(() => {}),
    );
    const t3 = performance.now();
    const peakCommit = (await heap?.({ op: 'stop' })) ?? null;
    for (const dataset of datasets) await lab.deleteDataset(dataset.id);
    return {
      count,
      size,
      fileBytes,
      generateMs,
      planMs: t2 - t1,
      commitMs: t3 - t2,
      heap:
        start === null || peakPlan === null || afterPlan === null || peakCommit === null
          ? null
          : { start, peakPlan, afterPlan, peakCommit },
      errors: preview.errors.length + preview.splits.reduce((sum, split) => sum + split.errors.length, 0),
    };
  } finally {
    await heap?.({ op: 'stop' });
  }
}

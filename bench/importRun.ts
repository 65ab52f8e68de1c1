/**
 * One run of the import benchmark: generates `count` demo-world images with panoptic masks as a
 * COCO panoptic folder of Blobs, then times planImport and commitImport into a fresh IndexedDB,
 * sampling the JS heap (performance.memory, precise with --enable-precise-memory-info) every 20 ms.
 * It runs on the page's thread: Chromium has no performance.memory in workers, and the importer's
 * allocations are the same on either thread.
 */
import { DEMO_DEFAULTS, demoSplitEntries, iterateDemoSplit } from '../src/data/demo';
import { planImport } from '../src/data/import';
import { commitImport } from '../src/data/importCommit';
import { deleteDataset, openStore } from '../src/data/store';

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
   * JS heap (bytes): before generating, after generating (the files are Blobs), and the peak while
   * planning (which holds the annotation JSON and the plan, both as long as the file list) and while
   * committing (one image at a time, beside the plan).
   */
  heap: { start: number; afterGenerate: number; peakPlan: number; peakCommit: number } | null;
  errors: number;
}

interface MemoryInfo {
  usedJSHeapSize: number;
}

const heapNow = (): number | null =>
  (performance as Performance & { memory?: MemoryInfo }).memory?.usedJSHeapSize ?? null;

/** `gc` is there with --js-flags=--expose-gc (scripts/bench.mjs): a clean start for each run. */
export async function runImport({ count, size }: ImportBenchRequest): Promise<ImportBenchResult> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = heapNow();
  const t0 = performance.now();
  const files: { path: string; file: Blob }[] = [];
  let fileBytes = 0;
  const options = { ...DEMO_DEFAULTS, width: size, height: size, labeled: count };
  for (const { path, bytes } of demoSplitEntries('labeled', iterateDemoSplit(options, 'labeled'))) {
    files.push({ path, file: new Blob([bytes as Uint8Array<ArrayBuffer>]) });
    fileBytes += bytes.length;
  }
  const generateMs = performance.now() - t0;
  const afterGenerate = heapNow();
  const peaks = { plan: afterGenerate ?? 0, commit: 0 };
  let phase: keyof typeof peaks = 'plan';
  const sample = () => (peaks[phase] = Math.max(peaks[phase], heapNow() ?? 0));
  const sampler = setInterval(sample, 20);
  const db = await openStore(`bench-import-${crypto.randomUUID()}`);
  try {
    const t1 = performance.now();
    const plan = await planImport(files, { role: 'labeled' });
    const t2 = performance.now();
    sample();
    phase = 'commit';
    const dataset = await commitImport(db, plan, { name: 'bench', role: 'labeled' });
    const t3 = performance.now();
    clearInterval(sampler);
    sample();
    await deleteDataset(db, dataset.id);
    return {
      count,
      size,
      fileBytes,
      generateMs,
      planMs: t2 - t1,
      commitMs: t3 - t2,
      heap:
        start === null || afterGenerate === null
          ? null
          : { start, afterGenerate, peakPlan: peaks.plan, peakCommit: peaks.commit },
      errors: plan.errors.length,
    };
  } finally {
    clearInterval(sampler);
    db.close();
    indexedDB.deleteDatabase(db.name);
  }
}

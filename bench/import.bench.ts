/**
 * `npm run bench:import`: the real importer (planImport + commitImport, src/data/import.ts) in
 * Chromium, into IndexedDB, on generated demo-world images with panoptic masks (bench/importRun.ts).
 * Query string (`npm run bench:import -- 'counts=1000,10000&size=64'`):
 *   counts  comma list of image counts (default 1000,10000)
 *   size    image side in px (default 64)
 * Reports images/s (plan, commit, end to end) and the JS heap above what it held before: the
 * generated files' objects (their bytes are Blobs, outside the JS heap), and the peak while planning
 * and while committing. Planning holds the annotation JSON and the plan, which list every file;
 * committing holds one image at a time beside the plan.
 */
import { LiveReport } from './liveReport';
import { runImport, type ImportBenchResult } from './importRun';
import type { BrowserBenchmark } from './types';

const MiB = 2 ** 20;

export const runBenchmark: BrowserBenchmark = async (log) => {
  const query = new URLSearchParams(location.search);
  const counts = (query.get('counts') ?? '1000,10000').split(',').map(Number);
  const size = Number(query.get('size') ?? 64);
  const live = new LiveReport(`import into IndexedDB (demo world, ${size}x${size} images + panoptic masks)`, [
    'images',
    'MB of files',
    'plan img/s',
    'commit img/s',
    'end to end img/s',
    'heap start MiB',
    'files MiB',
    'plan peak above start MiB',
    'commit peak above start MiB',
  ]);
  const runs: ImportBenchResult[] = [];
  for (const count of counts) {
    const row = live.row([count, '', '', '', '', '', '', '', '']);
    log(`${count} images: generating, then importing`);
    const result = await live.measure(row, 4, () => runImport({ count, size }));
    if (!result) continue;
    runs.push(result);
    const heap = result.heap;
    row.splice(
      1,
      8,
      result.fileBytes / 1e6,
      count / (result.planMs / 1000),
      count / (result.commitMs / 1000),
      count / ((result.planMs + result.commitMs) / 1000),
      heap ? heap.start / MiB : 'n/a',
      heap ? (heap.afterGenerate - heap.start) / MiB : 'n/a',
      heap ? (heap.peakPlan - heap.start) / MiB : 'n/a',
      heap ? (heap.peakCommit - heap.start) / MiB : 'n/a',
    );
    log(
      `${count} images: plan ${result.planMs.toFixed(0)} ms, commit ${result.commitMs.toFixed(0)} ms${result.errors ? `, ${result.errors} plan errors` : ''}`,
    );
  }
  return live.report([
    'plan = planImport (scan, layout detection, every mask decoded and checked); commit = commitImport (thumbnails, masks re-encoded, IndexedDB writes in batches); generation not timed',
    'heap = performance.memory.usedJSHeapSize of the page, where the importer runs here (workers have no performance.memory), after a forced GC at the start, sampled every 20 ms; the generated files are Blobs outside it',
  ]);
};

/**
 * `npm run bench:import`: the real import path in Chromium (the lab's pipeline worker: planImport,
 * then commitImport into IndexedDB) on generated demo-world images with panoptic masks
 * (bench/importRun.ts). Query string (`npm run bench:import -- 'counts=1000,10000&size=64'`):
 *   counts  comma list of image counts (default 1000,10000)
 *   size    image side in px (default 64)
 * Reports images/s (plan, commit, end to end) and the worker's JS heap: at the start, after a
 * collection, and the peaks above it while planning and while committing.
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
    'worker heap start MiB',
    'plan peak above start MiB',
    'plan held MiB',
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
      heap ? (heap.peakPlan - heap.start) / MiB : 'n/a',
      heap ? (heap.afterPlan - heap.start) / MiB : 'n/a',
      heap ? (heap.peakCommit - heap.start) / MiB : 'n/a',
    );
    log(
      `${count} images: plan ${result.planMs.toFixed(0)} ms, commit ${result.commitMs.toFixed(0)} ms${result.errors ? `, ${result.errors} plan errors` : ''}`,
    );
  }
  return live.report([
    'plan = planImport (scan, layout detection, every mask decoded and checked); commit = commitImport (thumbnails, masks re-encoded, IndexedDB writes in batches), both called on the lab worker as the Data tab does; generation (on the page) not timed',
    "heap = the lab worker's used JS heap (Runtime.getHeapUsage over the DevTools protocol), after a collection at the start, sampled every 20 ms (peaks include garbage not yet collected); plan held = after a collection once planned, while the worker keeps the plan for the commit; the files' bytes are Blobs outside it",
  ]);
};

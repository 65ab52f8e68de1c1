// `npm run bench:eval [-- --images N]`: panoptic evaluation speed on generated 640x480 pairs
// (~40 segments each), single thread; compared with panopticapi's pq_compute on one core when
// python3 with numpy + PIL and a panopticapi checkout ($PANOPTICAPI_DIR, default /tmp/panopticapi) exist.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parsePanopticJson, evaluatePanopticFolders } from '../src/core/panopticFiles';
import { PanopticEvaluator, type PqReport } from '../src/core/pq';
import { Rng } from '../src/core/rng';
import { randomScene, writeCaseJsons, writeScenePngs, type CaseAnnotations } from '../scripts/golden/scenes';
import { nodeFolder } from '../scripts/eval';
import { decodeRgbPanopticPng, rgbPanopticPngRowReader } from '../scripts/panopticPng';
import type { BenchReport } from './types';

const WIDTH = 640;
const HEIGHT = 480;
const THINGS_PER_IMAGE = 40;

/** Wall and CPU time in ms; CPU time is the fairer figure on a shared machine. */
interface Elapsed {
  wallMs: number;
  cpuMs: number;
}

/** Adds up the time between start() and stop() calls. */
class Clock implements Elapsed {
  wallMs = 0;
  cpuMs = 0;
  private wallStart = 0;
  private cpuStart = process.cpuUsage();

  start(): void {
    this.wallStart = performance.now();
    this.cpuStart = process.cpuUsage();
  }

  stop(): void {
    this.wallMs += performance.now() - this.wallStart;
    const cpu = process.cpuUsage(this.cpuStart);
    this.cpuMs += (cpu.user + cpu.system) / 1000;
  }

  elapsed(): Elapsed {
    return { wallMs: this.wallMs, cpuMs: this.cpuMs };
  }
}

function minus(a: Elapsed, b: Elapsed): Elapsed {
  return { wallMs: a.wallMs - b.wallMs, cpuMs: a.cpuMs - b.cpuMs };
}

const { values } = parseArgs({ options: { images: { type: 'string', default: '500' } } });
const imageCount = Number(values.images);
if (!Number.isInteger(imageCount) || imageCount < 1) {
  console.error('usage: npm run bench:eval [-- --images N]   (N >= 1, default 500)');
  process.exit(2);
}
const dir = mkdtempSync(path.join(tmpdir(), 'dearli-bench-eval-'));

try {
  console.log(`generating ${imageCount} ${WIDTH}x${HEIGHT} pairs in ${dir} ...`);
  const rng = new Rng(2024);
  // Generated in chunks so that only a few id maps are in memory at once.
  const chunk = 25;
  const annotations: CaseAnnotations = { gt: [], pred: [] };
  for (let start = 0; start < imageCount; start += chunk) {
    const images = [];
    for (let i = start; i < Math.min(imageCount, start + chunk); i++) {
      images.push({
        imageId: i,
        name: `img_${String(i).padStart(5, '0')}`,
        scene: randomScene(rng, WIDTH, HEIGHT, THINGS_PER_IMAGE),
      });
    }
    const written = writeScenePngs(dir, images);
    annotations.gt.push(...written.gt);
    annotations.pred.push(...written.pred);
  }
  writeCaseJsons(dir, annotations);

  const gtFolder = () => nodeFolder(path.join(dir, 'gt.json'), path.join(dir, 'gt'));
  const predFolder = () => nodeFolder(path.join(dir, 'pred.json'), path.join(dir, 'pred'));

  // End to end, as `npm run eval` does it: JSON, PNG reading and decoding, evaluation.
  const endToEnd = new Clock();
  const faultsBefore = process.resourceUsage().minorPageFault;
  endToEnd.start();
  const ours = await evaluatePanopticFolders(gtFolder(), predFolder(), decodeRgbPanopticPng, {
    gt: rgbPanopticPngRowReader(),
    pred: rgbPanopticPngRowReader(),
  });
  endToEnd.stop();
  // First touches of fresh memory: each costs 15–23 µs on the VMs we measured on.
  const faultsPerPair = (process.resourceUsage().minorPageFault - faultsBefore) / imageCount;

  // The same work split in two: PNG reading and decoding, then the evaluator alone on decoded maps
  // (which is what the training worker calls per validation image).
  const gtJson = parsePanopticJson(gtFolder().jsonText, 'gt.json', true);
  const predJson = parsePanopticJson(predFolder().jsonText, 'pred.json', false);
  const evaluator = new PanopticEvaluator(gtJson.categories);
  const pngReading = new Clock();
  const evaluation = new Clock();
  let segmentCount = 0;
  gtJson.annotations.forEach((gt, i) => {
    const pred = predJson.annotations[i];
    pngReading.start();
    const gtMap = decodeRgbPanopticPng(readFileSync(path.join(dir, 'gt', gt.file_name)), gt.file_name);
    const predMap = decodeRgbPanopticPng(readFileSync(path.join(dir, 'pred', pred.file_name)), pred.file_name);
    pngReading.stop();
    evaluation.start();
    evaluator.addImage({ ...gtMap, segments: gt.segments_info }, { ...predMap, segments: pred.segments_info });
    evaluation.stop();
    segmentCount += gt.segments_info.length + pred.segments_info.length;
  });

  const reference = runPanopticapi(dir);
  const row = (name: string, time: Elapsed): (string | number)[] => [
    name,
    imageCount / (time.cpuMs / 1000),
    time.cpuMs / imageCount,
    time.wallMs / imageCount,
  ];
  const rows = [row('ours, end to end (npm run eval)', endToEnd)];
  if (reference.ok) rows.push(row('panopticapi pq_compute, one core', reference.total));
  rows.push(row('ours, evaluation of decoded maps', evaluation));
  if (reference.ok) rows.push(row('panopticapi minus its PNG reading', minus(reference.total, reference.pngReading)));
  rows.push(row('ours, PNG reading (ids, node:zlib)', pngReading));
  if (reference.ok) rows.push(row('panopticapi PNG reading (PIL + numpy)', reference.pngReading));

  const notes = [
    `${imageCount} pairs of ${WIDTH}x${HEIGHT}, ${(segmentCount / imageCount / 2).toFixed(1)} segments per map on average; single thread.`,
    'images/s from CPU time, which a busy machine inflates less than wall time.',
    `ours end to end: ${faultsPerPair.toFixed(1)} minor page faults per pair.`,
    `ours: PQ ${(100 * ours.pq.All.pq).toFixed(2)}, SQ ${(100 * ours.pq.All.sq).toFixed(2)}, RQ ${(100 * ours.pq.All.rq).toFixed(2)}.`,
  ];
  if (loadavg()[0] > cpus().length) {
    notes.push(
      `the machine was busy (load ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs): absolute times are inflated, compare ratios.`,
    );
  }
  let speedup: { endToEnd: number; withoutPngReading: number } | null = null;
  if (reference.ok) {
    speedup = {
      endToEnd: reference.total.cpuMs / endToEnd.cpuMs,
      withoutPngReading: minus(reference.total, reference.pngReading).cpuMs / evaluation.cpuMs,
    };
    const largestDifference = Math.max(
      ...(['All', 'Things', 'Stuff'] as const).flatMap((g) =>
        (['pq', 'sq', 'rq'] as const).map((m) => Math.abs(ours.pq[g][m] - reference.result[g][m])),
      ),
    );
    notes.push(
      `panopticapi CPU time / ours: ${speedup.endToEnd.toFixed(1)}x end to end, ${speedup.withoutPngReading.toFixed(1)}x without PNG reading (goal: 5x); ` +
        `largest PQ/SQ/RQ difference ${largestDifference.toExponential(1)}.`,
    );
  } else {
    notes.push(`panopticapi not timed: ${reference.why}`);
  }

  const report: BenchReport = {
    title: 'panoptic evaluation (PQ/SQ/RQ + mIoU)',
    columns: ['evaluator', 'images/s', 'CPU ms/image', 'wall ms/image'],
    rows,
    figures: {
      images: imageCount,
      width: WIDTH,
      height: HEIGHT,
      segmentsPerMap: segmentCount / imageCount / 2,
      oursEndToEnd: endToEnd.elapsed(),
      oursPageFaultsPerPair: faultsPerPair,
      oursPngReading: pngReading.elapsed(),
      oursEvaluation: evaluation.elapsed(),
      panopticapi: reference.ok ? reference.total : null,
      panopticapiPngReading: reference.ok ? reference.pngReading : null,
      speedup,
      node: process.version,
      cpu: cpus()[0]?.model,
      cpuCount: cpus().length,
      loadAverage1min: loadavg()[0],
    },
    notes,
  };
  printReport(report);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(
    'bench-results/eval.json',
    `${JSON.stringify({ name: 'eval', date: new Date().toISOString(), ...report }, null, 2)}\n`,
  );
  console.log('\nwrote bench-results/eval.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

type ReferenceRun = { ok: true; total: Elapsed; pngReading: Elapsed; result: PqReport } | { ok: false; why: string };

function runPanopticapi(dataDir: string): ReferenceRun {
  const apiDir = process.env.PANOPTICAPI_DIR ?? '/tmp/panopticapi';
  if (!existsSync(path.join(apiDir, 'panopticapi', 'evaluation.py')))
    return { ok: false, why: `no panopticapi/evaluation.py under ${apiDir} (set PANOPTICAPI_DIR)` };
  // Debian's python3 has numpy and PIL where a pyenv one may not.
  const python = [process.env.PYTHON, '/usr/bin/python3', 'python3'].find(
    (candidate) => candidate && spawnSync(candidate, ['-c', 'import numpy, PIL'], { stdio: 'ignore' }).status === 0,
  );
  if (!python) return { ok: false, why: 'no python3 with numpy and PIL' };
  console.log(`timing panopticapi with ${python} ...`);
  const out = path.join(dataDir, 'panopticapi.json');
  const runner = path.resolve(import.meta.dirname, '../scripts/golden/panopticapi_eval.py');
  const args = [
    runner,
    apiDir,
    path.join(dataDir, 'gt.json'),
    path.join(dataDir, 'gt'),
    path.join(dataDir, 'pred.json'),
    path.join(dataDir, 'pred'),
    out,
  ];
  const child = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (child.status !== 0)
    return { ok: false, why: `panopticapi failed: ${child.stderr.trim().split('\n').slice(-1)[0]}` };
  const [totalWall, totalCpu, pngWall, pngCpu] = child.stdout
    .trim()
    .split('\n')
    .slice(-1)[0]
    .split(' ')
    .map((seconds) => Number(seconds) * 1000);
  return {
    ok: true,
    total: { wallMs: totalWall, cpuMs: totalCpu },
    pngReading: { wallMs: pngWall, cpuMs: pngCpu },
    result: JSON.parse(readFileSync(out, 'utf8')) as PqReport,
  };
}

function printReport({ title, columns, rows, notes }: BenchReport): void {
  const cells = [columns, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(c >= 100 ? 0 : 2) : c)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  console.log(`\n${title}`);
  for (const [i, r] of cells.entries()) {
    console.log(r.map((c, j) => (j === 0 ? String(c).padEnd(widths[j]) : String(c).padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  for (const note of notes ?? []) console.log(`- ${note}`);
}

/**
 * `npm run ablation`: the paper's ablations (Tab. 1's development path, Tab. 8's α, Fig. 3's
 * zero-shot) on the demo world with the shipped demo CLIP, in Node on tfjs cpu, through the lab's own
 * session and stages (scripts/ablationRunner.ts). Prints a table (mean ± std over seeds) with the ETA
 * as it goes and writes bench-results/ablation.json after every run, so a stopped run keeps what it
 * measured (the run in flight reads "> N s").
 *
 *   npm run ablation -- [--seeds 3] [--iterations 200] [--dewa-iterations N] [--row NAME]... [--jobs 2] [--timeout S] [--out FILE]
 *
 * --jobs: runs at once, each in its own process (default 2, the cores of the machine it is sized for).
 *
 * NAME: supervised, meanTeacher, dear, dearli, alpha, zeroShot (repeat --row for several).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { PartialReport } from '../bench/liveReport';
import type { BenchReport } from '../bench/types';
import { closePartialReport, printTable } from './benchReport.mjs';
import {
  ABLATION_DEFAULTS,
  ABLATION_ROWS,
  ablationEmaDecay,
  alphaKey,
  ROW_LABELS,
  runAblation,
  type AblationOptions,
  type AblationResults,
  type AblationRow,
  type RunFigures,
} from './ablationRunner';

export const ABLATION_COLUMNS = [
  'row',
  'PQ',
  'PQ (test-time ens.)',
  'mIoU',
  'teacher PQ',
  'pseudo-label segments / image (first → last 10 it.)',
  'seeds',
  'PQ per seed',
  's per run',
];

export interface Stat {
  mean: number;
  /** Sample standard deviation over seeds; null with one seed. */
  std: number | null;
}

export function stat(values: number[]): Stat {
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  if (values.length < 2) return { mean, std: null };
  return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) };
}

/** "12.3 ± 1.4" in percent. */
const percent = (s: Stat) => `${(100 * s.mean).toFixed(1)}${s.std === null ? '' : ` ± ${(100 * s.std).toFixed(1)}`}`;

/** The table's row keys in order: DEARLi (d) is the sweep's α = 0.6 run. */
function rowKeys(options: AblationOptions): { key: string; label: string }[] {
  const keys: { key: string; label: string }[] = [];
  const has = (r: AblationRow) => options.rows.includes(r);
  for (const r of ['supervised', 'meanTeacher', 'dear'] as const)
    if (has(r)) keys.push({ key: r, label: ROW_LABELS[r] });
  if (has('dearli') || has('alpha')) keys.push({ key: 'dewa', label: 'DeWa warm-up (classical fallback masks)' });
  if (has('dearli')) keys.push({ key: alphaKey(0.6), label: ROW_LABELS.dearli });
  if (has('alpha'))
    for (const a of options.alphas)
      if (!(has('dearli') && a === 0.6)) keys.push({ key: alphaKey(a), label: `${ROW_LABELS.alpha}: α = ${a}` });
  if (has('zeroShot')) keys.push({ key: 'zeroShot', label: ROW_LABELS.zeroShot });
  return keys;
}

interface RowSummary {
  key: string;
  pq: Stat;
  pqEnsembled: Stat;
  miou: Stat;
  teacherPq: Stat | null;
  /** Mean Teacher: mean over seeds of the teacher's pseudo-label segments per unlabeled image, first and last 10 iterations. */
  pseudoSegments: { first: number; last: number } | null;
  seeds: number;
}

function summarise(key: string, runs: RunFigures[]): RowSummary {
  const teacher = runs.map((r) => r.teacherPq).filter((v): v is number => v !== null);
  return {
    key,
    pq: stat(runs.map((r) => r.pq)),
    pqEnsembled: stat(runs.map((r) => r.pqEnsembled)),
    miou: stat(runs.map((r) => r.miou)),
    teacherPq: teacher.length > 0 ? stat(teacher) : null,
    pseudoSegments: runs.every((r) => r.pseudoSegments)
      ? {
          first: stat(runs.map((r) => r.pseudoSegments!.first)).mean,
          last: stat(runs.map((r) => r.pseudoSegments!.last)).mean,
        }
      : null,
    seeds: runs.length,
  };
}

/** Whether the paper's claims hold here: each step up the path beats the one before by more than either's seed std, and where α peaks. */
function checks(summaries: Map<string, RowSummary>, options: AblationOptions) {
  const path = ['supervised', 'meanTeacher', 'dear', alphaKey(0.6)].map((k) => summaries.get(k));
  const gaps = path.slice(1).map((row, i) => {
    const before = path[i];
    if (!row || !before) return null;
    const gap = row.pq.mean - before.pq.mean;
    const std = Math.max(row.pq.std ?? NaN, before.pq.std ?? NaN);
    return { from: before.key, to: row.key, gap, largerThanStd: Number.isNaN(std) ? null : gap > std };
  });
  const sweep = options.alphas
    .map((alpha) => ({ alpha, pq: summaries.get(alphaKey(alpha))?.pq.mean }))
    .filter((p): p is { alpha: number; pq: number } => p.pq !== undefined);
  const best = sweep.length === options.alphas.length ? sweep.reduce((a, p) => (p.pq > a.pq ? p : a)) : null;
  return {
    gaps,
    // null: a row is missing, or one seed gives no std to compare with.
    orderingHolds: gaps.some((g) => g === null || g.largerThanStd === null)
      ? null
      : gaps.every((g) => g!.gap > 0 && g!.largerThanStd),
    bestAlpha: best?.alpha ?? null,
    alphaPeaksInside: best ? best.alpha > 0.4 && best.alpha < 0.8 : null,
  };
}

/** The report as it stands: one table row per key, the run in flight named in `pending`. */
export function ablationReport(
  options: AblationOptions,
  results: AblationResults,
  pending: { key: string; startedAt: number } | null,
): PartialReport {
  const summaries = new Map(Object.entries(results.runs).map(([k, runs]) => [k, summarise(k, runs)]));
  const rows = rowKeys(options).map(({ key, label }): (string | number)[] => {
    if (key === 'zeroShot') {
      const z = results.zeroShot;
      return z
        ? [
            label,
            (100 * z.pq).toFixed(1),
            '',
            '',
            '',
            '',
            '',
            `mean class accuracy ${(100 * z.meanClassAccuracy).toFixed(1)} %`,
            z.seconds.toFixed(0),
          ]
        : [label, '', '', '', '', '', '', '', ''];
    }
    if (key === 'dewa') {
      const w = results.warmUp;
      return [
        label,
        '',
        '',
        '',
        '',
        '',
        w.length,
        w.map((x) => x.maskNote).join('; '),
        w.length ? (w.reduce((a, x) => a + x.dewaSeconds, 0) / w.length).toFixed(0) : '',
      ];
    }
    const s = summaries.get(key);
    const runs = results.runs[key] ?? [];
    if (!s) return [label, '', '', '', '', '', 0, '', ''];
    return [
      label,
      percent(s.pq),
      percent(s.pqEnsembled),
      percent(s.miou),
      s.teacherPq ? percent(s.teacherPq) : '',
      s.pseudoSegments ? `${s.pseudoSegments.first.toFixed(2)} → ${s.pseudoSegments.last.toFixed(2)}` : '',
      s.seeds,
      runs.map((r) => (100 * r.pq).toFixed(1)).join(' '),
      (runs.reduce((a, r) => a + r.seconds, 0) / runs.length).toFixed(0),
    ];
  });
  const keys = rowKeys(options).map((k) => k.key);
  const at = pending ? keys.indexOf(pending.key) : -1;
  const { demo, training } = options;
  return {
    title: `DEARLi ablation on the demo world (validation PQ %, student, mean ± std over ${options.seeds} seed${options.seeds > 1 ? 's' : ''})`,
    columns: ABLATION_COLUMNS,
    rows,
    figures: {
      options,
      results,
      summaries: Object.fromEntries(summaries),
      checks: checks(summaries, options),
    },
    notes: [
      `demo world seed ${demo.seed}: ${demo.labeled} labeled, ${demo.unlabeled} unlabeled, ${demo.validation} validation images of ${demo.width}×${demo.height} px; seeds vary the training (initialisation, batches, augmentation), not the data`,
      `decoder ${training.preset}, crop ${training.cropSize}, batch ${training.batchSize} (+ ${training.batchSize} unlabeled for Mean Teacher), lr ${training.learningRate}, ${options.iterations} iterations (DeWa ${options.dewaIterations}), EMA γ ${training.emaDecay}; backbone, text classifier and P_CLIP: the shipped demo CLIP`,
      'PQ: the student at the last iteration without test-time ensembling (paper Tab. 7); PQ (test-time ens.): the same with P_CLIP at weight 0.4',
      'pseudo-label segments: the teacher\'s segments per unlabeled image (before CutMix); 0 teaches "no object" to every query',
    ],
    pending: at >= 0 && pending ? { row: at, cell: ABLATION_COLUMNS.length - 1, startedAt: pending.startedAt } : null,
  };
}

/** The report of what is finished (nothing in flight). */
export function finalReport(options: AblationOptions, results: AblationResults): BenchReport {
  const { pending: _none, ...report } = ablationReport(options, results, null);
  return report;
}

/** The zero-shot row's per-class accuracies (Fig. 3's analogue) as a second table. */
function zeroShotTable(results: AblationResults): BenchReport | null {
  const z = results.zeroShot;
  if (!z) return null;
  return {
    title: 'Zero-shot CLIP on GT masks, per class (validation)',
    columns: ['class', 'thing', 'accuracy %', 'segments', 'PQ %'],
    rows: z.perClass.map((c) => [
      c.name,
      c.isthing ? 'yes' : 'no',
      c.accuracy === null ? 'n/a' : (100 * c.accuracy).toFixed(1),
      c.segments,
      (100 * c.pq).toFixed(1),
    ]),
    figures: {},
  };
}

function parseOptions(argv: string[]): AblationOptions & { out: string; timeoutS: number; jobs: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string' },
      iterations: { type: 'string' },
      'dewa-iterations': { type: 'string' },
      row: { type: 'string', multiple: true },
      jobs: { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const int = (v: string | undefined, fallback: number, name: string, min: number) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const rows = (values.row ?? [...ABLATION_ROWS]) as AblationRow[];
  for (const r of rows)
    if (!ABLATION_ROWS.includes(r)) throw new Error(`unknown --row "${r}" (known: ${ABLATION_ROWS.join(', ')})`);
  const iterations = int(values.iterations, ABLATION_DEFAULTS.iterations, 'iterations', 1);
  return {
    ...ABLATION_DEFAULTS,
    seeds: int(values.seeds, ABLATION_DEFAULTS.seeds, 'seeds', 1),
    iterations,
    // Shorter runs shorten the warm-up with them unless it is given.
    dewaIterations: int(
      values['dewa-iterations'],
      values.iterations === undefined ? ABLATION_DEFAULTS.dewaIterations : iterations,
      'dewa-iterations',
      1,
    ),
    rows,
    // γ follows the run's length (the lab's "Run DEARLi" rule).
    training: { ...ABLATION_DEFAULTS.training, emaDecay: ablationEmaDecay(iterations) },
    jobs: int(values.jobs, 2, 'jobs', 1),
    timeoutS: int(values.timeout, 0, 'timeout', 0),
    out: path.resolve(values.out ?? 'bench-results/ablation.json'),
  };
}

export function saveReport(file: string, report: BenchReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ name: 'ablation', date: new Date().toISOString(), load: os.loadavg(), cpus: os.cpus().length, ...report }, null, 2)}\n`,
  );
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(
      `${(e as Error).message}\nusage: npm run ablation -- [--seeds N] [--iterations N] [--dewa-iterations N] [--row NAME]... [--jobs N] [--timeout S] [--out FILE]`,
    );
    return 2;
  }
  let results: AblationResults = { runs: {}, zeroShot: null, warmUp: [] };
  // The runs in flight (one per job); a stopped report marks the oldest "> N s".
  const inFlight = new Map<string, { key: string; startedAt: number }>();
  const stop = (reason: string) => {
    const oldest = [...inFlight.values()].sort((a, b) => a.startedAt - b.startedAt)[0] ?? null;
    const report = closePartialReport(ablationReport(options, results, oldest), Date.now(), reason);
    saveReport(options.out, report);
    printTable(report);
    console.log(`wrote ${options.out}`);
    process.exit(130);
  };
  process.on('SIGINT', () => stop('interrupted (SIGINT)'));
  process.on('SIGTERM', () => stop('stopped (SIGTERM)'));
  if (options.timeoutS > 0)
    setTimeout(() => stop(`the run passed --timeout ${options.timeoutS} s`), options.timeoutS * 1000).unref();
  console.log(
    `ablation: ${options.seeds} seed(s), ${options.iterations} iterations, rows ${options.rows.join(', ')}, ${options.jobs} job(s)`,
  );
  results = await runAblation(
    options,
    {
      started: (key, seed) => inFlight.set(`${key}/${seed}`, { key, startedAt: Date.now() }),
      finished: (latest, line, key, seed) => {
        results = latest;
        inFlight.delete(`${key}/${seed}`);
        console.log(line);
        saveReport(options.out, finalReport(options, results));
      },
    },
    options.jobs,
  );
  const report = finalReport(options, results);
  saveReport(options.out, report);
  printTable(report);
  const perClass = zeroShotTable(results);
  if (perClass) printTable(perClass);
  console.log(`checks: ${JSON.stringify(report.figures.checks)}`);
  console.log(`wrote ${options.out}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();

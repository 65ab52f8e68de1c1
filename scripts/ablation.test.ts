/**
 * `npm run ablation` in miniature: every row, one seed, two iterations, on a small demo world; the
 * table and the JSON hold a finite figure for every run, a stopped run keeps what it measured, and
 * mean ± std is the sample statistic.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { closePartialReport } from './benchReport.mjs';
import { ABLATION_COLUMNS, ablationReport, finalReport, saveReport, stat } from './ablation';
import { ABLATION_DEFAULTS, alphaKey, nextTask, plan, runAblation, type AblationOptions } from './ablationRunner';

const SMOKE: AblationOptions = {
  ...ABLATION_DEFAULTS,
  seeds: 1,
  iterations: 2,
  dewaIterations: 2,
  demo: { seed: 1, width: 64, height: 64, labeled: 2, unlabeled: 2, validation: 2 },
  training: { ...ABLATION_DEFAULTS.training, batchSize: 1, validationImages: 2 },
};

describe('npm run ablation', () => {
  it('mean ± std over seeds is the sample mean and sample standard deviation', () => {
    const s = stat([0.1, 0.2, 0.3]);
    expect(s.mean).toBeCloseTo(0.2, 12);
    expect(s.std).toBeCloseTo(0.1, 12);
    expect(stat([0.25])).toEqual({ mean: 0.25, std: null });
  });

  it('runs every row for one seed and reports finite figures in the table and the JSON', async () => {
    const started: string[] = [];
    const results = await runAblation(SMOKE, { started: (key) => started.push(key), finished: () => {} });
    // DEARLi's α first (its DeWa trained before it, once), then the rest of the sweep.
    expect(started).toEqual([
      'zeroShot',
      'supervised',
      'meanTeacher',
      'dear',
      alphaKey(0.6),
      alphaKey(0.2),
      alphaKey(0.4),
      alphaKey(0.8),
      alphaKey(1),
    ]);
    for (const key of ['supervised', 'meanTeacher', 'dear', ...SMOKE.alphas.map(alphaKey)]) {
      expect(results.runs[key], key).toHaveLength(1);
      const run = results.runs[key][0];
      for (const v of [run.pq, run.sq, run.rq, run.miou, run.pqEnsembled, run.seconds])
        expect(Number.isFinite(v)).toBe(true);
      expect(run.pq).toBeGreaterThanOrEqual(0);
      expect(run.pq).toBeLessThanOrEqual(1);
      // Mean Teacher runs also validate their teacher and count its pseudo-label segments; supervised runs have neither.
      expect(run.teacherPq === null).toBe(key === 'supervised');
      expect(run.pseudoSegments === null).toBe(key === 'supervised');
      if (run.pseudoSegments) {
        expect(run.pseudoSegments.perIteration).toHaveLength(2);
        expect(run.pseudoSegments.mean).toBe(
          (run.pseudoSegments.perIteration[0] + run.pseudoSegments.perIteration[1]) / 2,
        );
      }
    }
    expect(results.warmUp).toEqual([{ seed: 1, maskNote: 'fallback: 4 computed', dewaSeconds: expect.any(Number) }]);
    const zeroShot = results.zeroShot!;
    expect(zeroShot.perClass).toHaveLength(13);
    expect(Number.isFinite(zeroShot.meanClassAccuracy)).toBe(true);
    expect(zeroShot.perClass.reduce((a, c) => a + c.segments, 0)).toBeGreaterThan(0);

    const report = finalReport(SMOKE, results);
    expect(report.columns).toEqual(ABLATION_COLUMNS);
    // (a), (b), (c), DeWa, (d) = α 0.6, the four other α, (f).
    expect(report.rows).toHaveLength(10);
    for (const row of report.rows) expect(row).toHaveLength(ABLATION_COLUMNS.length);
    const trained = report.rows.filter((r) => r[0] !== 'DeWa warm-up (classical fallback masks)');
    for (const row of trained) expect(String(row[1])).toMatch(/^\d+\.\d$/);
    const figures = report.figures as { checks: { gaps: unknown[]; orderingHolds: boolean | null; bestAlpha: number } };
    // One seed has no std: the ordering check cannot say yes or no.
    expect(figures.checks.orderingHolds).toBeNull();
    expect(SMOKE.alphas).toContain(figures.checks.bestAlpha);

    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ablation-')), 'ablation.json');
    saveReport(file, report);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ name: 'ablation', columns: ABLATION_COLUMNS, rows: report.rows });
    expect(saved.figures.results.runs.supervised[0].pq).toBe(results.runs.supervised[0].pq);

    // Stopped while the α = 0.8 run was in flight: its row reads "> N s", everything measured is kept.
    const { [alphaKey(0.8)]: _inFlight, ...finished } = results.runs;
    const stopped = closePartialReport(
      ablationReport(SMOKE, { ...results, runs: finished }, { key: alphaKey(0.8), startedAt: Date.now() - 12_000 }),
      Date.now(),
      'interrupted (SIGINT)',
    );
    const row = stopped.rows.find((r) => String(r[0]).endsWith('α = 0.8'))!;
    expect(row.at(-1)).toMatch(/^> 1[2-3] s$/);
    expect(stopped.rows.find((r) => r[0] === report.rows[0][0])).toEqual(report.rows[0]);
    expect(stopped.notes!.at(-1)).toMatch(/^INCOMPLETE: interrupted \(SIGINT\)/);
  });

  it('spreads the runs over workers in plan order, each keeping off the seeds whose DeWa another worker trains', () => {
    const tasks = plan({ ...ABLATION_DEFAULTS, seeds: 2, rows: ['supervised', 'dearli', 'alpha'] });
    const name = (t: ReturnType<typeof nextTask>) => (t && t.kind !== 'zeroShot' ? `${t.key}/${t.seed}` : t?.key);
    expect(tasks.map(name)).toEqual(
      [1, 2].flatMap((seed) => ['supervised', ...[0.6, 0.2, 0.4, 0.8, 1].map(alphaKey)].map((k) => `${k}/${seed}`)),
    );
    const started = new Set<number>();
    const none = new Set<number>();
    expect(name(nextTask(tasks, none, started))).toBe('supervised/1');
    // Worker A starts seed 1's DeWa with DEARLi's run.
    expect(name(nextTask(tasks, none, started))).toBe('alpha=0.6/1');
    started.add(1);
    const a = new Set([1]);
    // Worker B, without seed 1's DeWa, moves on to seed 2 and starts its DeWa; A keeps to seed 1.
    expect(name(nextTask(tasks, none, started))).toBe('supervised/2');
    expect(name(nextTask(tasks, a, started))).toBe('alpha=0.2/1');
    expect(name(nextTask(tasks, none, started))).toBe('alpha=0.6/2');
    started.add(2);
    // With every DeWa started elsewhere, a worker takes the first left (and trains that DeWa again).
    expect(name(nextTask(tasks, none, started))).toBe('alpha=0.4/1');
    expect(tasks).toHaveLength(12 - 6);
  });
});

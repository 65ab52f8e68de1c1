/**
 * The ablation of `npm run ablation` (scripts/ablation.ts): the paper's development path (Tab. 1, 7,
 * 8; Fig. 3) on the demo world, run by the lab's own session in Node (tfjs cpu, fake-indexeddb), with
 * the shipped demo CLIP loaded through the lab's CLIP loader as backbone, text classifier and P_CLIP.
 *
 * Every training row is a `LabSession` run (the same stages the Train tab and "Run DEARLi" use):
 * supervised; Mean Teacher from scratch at α = 1 (P_ENS = P_MT); DEAR (from scratch, α = 0.6); DEARLi
 * (the class-agnostic mask stage's classical fallback → DeWa → Mean Teacher from the DeWa weights,
 * α = 0.6) and its α sweep. The reported figure is the student's validation PQ without test-time
 * ensembling, as the paper's Tab. 7 reports it; the ensembled PQ is kept beside it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/models/ops/gradients';
import type { DemoOptions } from '../src/data/demo';
import { DEFAULT_MASK_SETTINGS } from '../src/pipeline/masksApi';
import type { ZeroShotReport } from '../src/pipeline/modelsApi';
import type { LabSession } from '../src/pipeline/session';
import type { RunView, TrainingConfig } from '../src/pipeline/trainingApi';
import { demoDatabase, sessionPool } from '../test/pipelineSession';

export const ABLATION_ROWS = ['supervised', 'meanTeacher', 'dear', 'dearli', 'alpha', 'zeroShot'] as const;
export type AblationRow = (typeof ABLATION_ROWS)[number];

export const ROW_LABELS: Record<AblationRow, string> = {
  supervised: '(a) M2F-Lang, supervised on the labeled split',
  meanTeacher: '(b) + Mean Teacher (α = 1: P_MT only, no DeWa)',
  dear: '(c) + P_ENS (DEAR: α = 0.6, no DeWa)',
  dearli: '(d) + DeWa (DEARLi: α = 0.6)',
  alpha: '(e) DEARLi, α sweep',
  zeroShot: '(f) zero-shot CLIP on GT masks',
};

export interface AblationOptions {
  seeds: number;
  /** Iterations of every supervised and Mean Teacher run. */
  iterations: number;
  /** Iterations of the DeWa warm-up. */
  dewaIterations: number;
  rows: AblationRow[];
  /** The α values of row (e); DEARLi's row (d) is its α = 0.6 run. */
  alphas: number[];
  demo: DemoOptions;
  training: {
    preset: string;
    cropSize: number;
    batchSize: number;
    learningRate: number;
    validationImages: number;
    /** The EMA decay γ of every Mean Teacher run (see ABLATION_DEFAULTS). */
    emaDecay: number;
  };
}

/**
 * The default size, chosen to finish within an hour on an idle 2-core machine (about 1.6 s per Mean
 * Teacher step, 0.9 s per supervised step, 8 s per validation of 16 images, measured on tfjs cpu):
 * the demo's own first-run size (8 labeled, 48 unlabeled, 16 validation images of 256 px), the tiny
 * preset with what it proposes for the demo (crop 64, lr 1e-3), 80 iterations at batch 2.
 * γ = 0.99 instead of upstream's 0.999: the runs are ~1000× shorter than the paper's 90k iterations,
 * and at 0.999 a teacher started from DeWa would still be ~92 % the class-agnostic DeWa decoder after
 * 80 iterations (0.999^80); 0.99 gives it a horizon of ~100 iterations, the length of a run.
 */
export const ABLATION_DEFAULTS: AblationOptions = {
  seeds: 3,
  iterations: 80,
  dewaIterations: 80,
  rows: [...ABLATION_ROWS],
  alphas: [0.2, 0.4, 0.6, 0.8, 1.0],
  demo: { seed: 1, width: 256, height: 256, labeled: 8, unlabeled: 48, validation: 16 },
  training: { preset: 'tiny', cropSize: 64, batchSize: 2, learningRate: 1e-3, validationImages: 16, emaDecay: 0.99 },
};

/** DEARLi's α: P_MT's weight in P_ENS (upstream's 0.4 on CLIP). */
const DEARLI_ALPHA = 0.6;

/** One training run's validation at its last iteration (fractions 0..1). */
export interface RunFigures {
  seed: number;
  pq: number;
  sq: number;
  rq: number;
  miou: number;
  /** The student with test-time ensembling with CLIP (P_MT's weight 0.6). */
  pqEnsembled: number;
  /** Mean Teacher runs: the EMA teacher's PQ. */
  teacherPq: number | null;
  seconds: number;
}

export interface ZeroShotFigures {
  pq: number;
  /** Mean over classes with GT segments of the fraction of their segments CLIP names correctly. */
  meanClassAccuracy: number;
  perClass: { name: string; isthing: boolean; accuracy: number | null; segments: number; pq: number }[];
  seconds: number;
}

/** What has been measured so far: per row key (alpha rows as `alpha=0.2`), one entry per finished seed. */
export interface AblationResults {
  runs: Record<string, RunFigures[]>;
  zeroShot: ZeroShotFigures | null;
  /** Mask stage and DeWa: seconds per seed. */
  warmUp: { seed: number; maskNote: string; dewaSeconds: number }[];
}

/** What the runner reports as it goes: the run it starts (for "> N s" when stopped), the results and a progress line with the ETA after each run. */
export interface AblationProgress {
  started(key: string, seed: number | null): void;
  finished(results: AblationResults, line: string): void;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO_CLIP_DIR = path.join(ROOT, 'public/demo-clip');

/** The shipped demo CLIP through the lab's own loader (dropped files, as the Models tab takes them). */
async function loadDemoClip(session: LabSession): Promise<void> {
  const file = async (name: string) => new File([await readFile(path.join(DEMO_CLIP_DIR, name))], name);
  await session.api().loadClip(
    {
      weights: { kind: 'file', file: await file('demo-clip.safetensors') },
      config: { kind: 'file', file: await file('open_clip_config.json') },
      tokenizer: { kind: 'file', file: await file('bpe_simple_vocab_16e6.txt.gz') },
    },
    () => {},
  );
}

/** The α-sweep row key of one α. */
export const alphaKey = (alpha: number) => `alpha=${alpha}`;

/** Relative cost of one run in supervised-step units (Mean Teacher steps also run the teacher and CLIP on unlabeled views). */
const COST = { supervised: 1, dewa: 0.9, meanTeacher: 1.7, evaluation: 10 };

interface PlannedRun {
  key: string;
  seed: number;
  kind: 'supervised' | 'dewa' | 'meanTeacher';
  alpha?: number;
  fromDewa?: boolean;
}

/** The runs of one seed, in order; DeWa once per seed, shared by DEARLi and the α sweep. */
function plan(options: AblationOptions, seed: number): PlannedRun[] {
  const wanted = new Set(options.rows);
  const runs: PlannedRun[] = [];
  if (wanted.has('supervised')) runs.push({ key: 'supervised', seed, kind: 'supervised' });
  if (wanted.has('meanTeacher')) runs.push({ key: 'meanTeacher', seed, kind: 'meanTeacher', alpha: 1 });
  if (wanted.has('dear')) runs.push({ key: 'dear', seed, kind: 'meanTeacher', alpha: DEARLI_ALPHA });
  const alphas = new Set(wanted.has('alpha') ? options.alphas : []);
  if (wanted.has('dearli')) alphas.add(DEARLI_ALPHA);
  if (alphas.size > 0) {
    runs.push({ key: 'dewa', seed, kind: 'dewa' });
    // DEARLi's own α first, so a stopped run still has row (d).
    for (const alpha of [...alphas].sort((a, b) => Number(b === DEARLI_ALPHA) - Number(a === DEARLI_ALPHA) || a - b))
      runs.push({ key: alphaKey(alpha), seed, kind: 'meanTeacher', alpha, fromDewa: true });
  }
  return runs;
}

function runCost(run: PlannedRun, options: AblationOptions): number {
  if (run.kind === 'dewa') return COST.dewa * options.dewaIterations;
  const evaluations = run.kind === 'meanTeacher' ? 2 : 1;
  return COST[run.kind] * options.iterations + COST.evaluation * evaluations;
}

function figures(view: RunView, seed: number, seconds: number): RunFigures {
  const last = view.evals.at(-1);
  if (view.status !== 'finished' || !last)
    throw new Error(`run ${view.id} ended ${view.status} without validation: ${view.error?.problem ?? ''}`);
  return {
    seed,
    pq: last.pq,
    sq: last.sq,
    rq: last.rq,
    miou: last.miou,
    pqEnsembled: last.ensembled?.pq ?? NaN,
    teacherPq: view.teacherEvals?.at(-1)?.pq ?? null,
    seconds,
  };
}

function zeroShotFigures(report: ZeroShotReport, seconds: number): ZeroShotFigures {
  const perClass = report.perClass.map((c) => ({
    name: c.name,
    isthing: c.isthing,
    accuracy: c.gtSegments > 0 ? c.correctSegments / c.gtSegments : null,
    segments: c.gtSegments,
    pq: c.pq / 100,
  }));
  const present = perClass.filter((c) => c.accuracy !== null);
  return {
    pq: report.all.pq / 100,
    meanClassAccuracy: present.reduce((a, c) => a + c.accuracy!, 0) / present.length,
    perClass,
    seconds,
  };
}

/** Runs the ablation; `progress` sees every result as it lands (the caller saves partial results). */
export async function runAblation(options: AblationOptions, progress: AblationProgress): Promise<AblationResults> {
  const results: AblationResults = { runs: {}, zeroShot: null, warmUp: [] };
  const pool = sessionPool();
  const started = performance.now();
  try {
    const db = await demoDatabase(options.demo);
    const session = await pool.open(db.name);
    await loadDemoClip(session);
    const ids = db.ids;
    const unlabeledAndLabeled = [ids.labeled, ids.unlabeled];

    if (options.rows.includes('zeroShot')) {
      progress.started('zeroShot', null);
      const t = performance.now();
      const report = await session.api().evaluateZeroShot(ids.validation, () => {});
      results.zeroShot = zeroShotFigures(report, (performance.now() - t) / 1000);
      progress.finished(results, `zero-shot on GT masks: PQ ${(100 * results.zeroShot.pq).toFixed(1)}`);
    }

    const runs = Array.from({ length: options.seeds }, (_, s) => plan(options, s + 1)).flat();
    const total = runs.reduce((a, r) => a + runCost(r, options), 0);
    let done = 0;
    let trainingSeconds = 0;
    let masksDone = false;
    const dewaRunOf = new Map<number, string>();
    const base = (seed: number): TrainingConfig => ({
      kind: 'supervised',
      ...options.training,
      trainDatasetIds: [ids.labeled],
      validationDatasetId: ids.validation,
      iterations: options.iterations,
      evalEvery: 0,
      seed,
    });
    for (const [n, run] of runs.entries()) {
      progress.started(run.key, run.seed);
      const t = performance.now();
      let config: TrainingConfig;
      if (run.kind === 'dewa') {
        // Class-agnostic masks as "Run DEARLi" makes them without SAM weights: the classical fallback, on every training image.
        let maskNote = 'reused';
        if (!masksDone) {
          const m = await session.masks.maskStage(
            unlabeledAndLabeled,
            DEFAULT_MASK_SETTINGS,
            new AbortController().signal,
            () => {},
          );
          maskNote = `${m.generator}: ${m.computed} computed`;
          masksDone = true;
        }
        config = {
          ...base(run.seed),
          kind: 'dewa',
          trainDatasetIds: unlabeledAndLabeled,
          validationDatasetId: null,
          iterations: options.dewaIterations,
        };
        const view = await session.training.train(
          (await session.training.createRun(config)).id,
          new AbortController().signal,
        );
        if (view.status !== 'finished') throw new Error(`DeWa run ${view.id} ended ${view.status}`);
        dewaRunOf.set(run.seed, view.id);
        results.warmUp.push({ seed: run.seed, maskNote, dewaSeconds: (performance.now() - t) / 1000 });
      } else {
        config =
          run.kind === 'supervised'
            ? base(run.seed)
            : {
                ...base(run.seed),
                kind: 'meanTeacher',
                unlabeledDatasetIds: [ids.unlabeled],
                alpha: run.alpha,
                emaDecay: options.training.emaDecay,
                dewaRunId: run.fromDewa ? dewaRunOf.get(run.seed)! : null,
              };
        const view = await session.training.train(
          (await session.training.createRun(config)).id,
          new AbortController().signal,
        );
        (results.runs[run.key] ??= []).push(figures(view, run.seed, (performance.now() - t) / 1000));
      }
      const seconds = (performance.now() - t) / 1000;
      trainingSeconds += seconds;
      done += runCost(run, options);
      const eta = (trainingSeconds / done) * (total - done);
      const pq = results.runs[run.key]?.at(-1)?.pq;
      progress.finished(
        results,
        `[${n + 1}/${runs.length}] ${run.key} seed ${run.seed}: ${pq === undefined ? 'done' : `PQ ${(100 * pq).toFixed(1)}`} in ${seconds.toFixed(0)} s; ` +
          `elapsed ${((performance.now() - started) / 60000).toFixed(1)} min, ETA ${(eta / 60).toFixed(1)} min`,
      );
    }
    return results;
  } finally {
    await pool.closeAll();
  }
}

/**
 * One ablation worker's lab session (scripts/ablationRunner.ts schedules the runs over workers): the
 * demo world in a fresh fake-indexeddb, the shipped demo CLIP loaded through the lab's CLIP loader,
 * and the runs trained by the lab's own training service. Every run depends only on its config and
 * seed, so a run gives the same figures in whichever worker (process) trains it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/models/ops/gradients';
import { DEFAULT_MASK_SETTINGS } from '../src/pipeline/masksApi';
import type { ZeroShotReport } from '../src/pipeline/modelsApi';
import type { LabSession } from '../src/pipeline/session';
import type { RunView, TrainingConfig } from '../src/pipeline/trainingApi';
import { demoDatabase, sessionPool } from '../test/pipelineSession';
import type {
  AblationOptions,
  AblationTask,
  RunFigures,
  TaskOutcome,
  TrainingTask,
  WarmUp,
  ZeroShotFigures,
} from './ablationRunner';

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

/** Mean of `values[from, to)`; null when the range is empty. */
function meanOf(values: readonly number[], from: number, to: number): number | null {
  const part = values.slice(Math.max(0, from), to);
  return part.length ? part.reduce((a, v) => a + v, 0) / part.length : null;
}

/** Iterations averaged at each end of a run for the pseudo-label segment summary. */
const SEGMENT_WINDOW = 10;

function figures(view: RunView, seed: number, seconds: number): RunFigures {
  const last = view.evals.at(-1);
  if (view.status !== 'finished' || !last)
    throw new Error(`run ${view.id} ended ${view.status} without validation: ${view.error?.problem ?? ''}`);
  const segments = view.pseudoLabelSegments ?? null;
  return {
    seed,
    pq: last.pq,
    sq: last.sq,
    rq: last.rq,
    miou: last.miou,
    pqEnsembled: last.ensembled?.pq ?? NaN,
    teacherPq: view.teacherEvals?.at(-1)?.pq ?? null,
    pseudoSegments: segments && {
      first: meanOf(segments, 0, SEGMENT_WINDOW)!,
      last: meanOf(segments, segments.length - SEGMENT_WINDOW, segments.length)!,
      mean: meanOf(segments, 0, segments.length)!,
      perIteration: segments,
    },
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

export class AblationSession {
  /** The DeWa run of each seed trained in this session. */
  private readonly dewaRunOf = new Map<number, string>();
  private masksDone = false;

  private constructor(
    private readonly options: AblationOptions,
    private readonly session: LabSession,
    private readonly ids: Record<string, string>,
    private readonly close: () => Promise<void>,
  ) {}

  static async open(options: AblationOptions): Promise<AblationSession> {
    const pool = sessionPool();
    try {
      const db = await demoDatabase(options.demo);
      const session = await pool.open(db.name);
      await loadDemoClip(session);
      return new AblationSession(options, session, db.ids, pool.closeAll);
    } catch (e) {
      await pool.closeAll();
      throw e;
    }
  }

  hasDewa(seed: number): boolean {
    return this.dewaRunOf.has(seed);
  }

  async zeroShot(): Promise<ZeroShotFigures> {
    const t = performance.now();
    const report = await this.session.api().evaluateZeroShot(this.ids.validation, () => {});
    return zeroShotFigures(report, (performance.now() - t) / 1000);
  }

  private base(seed: number): TrainingConfig {
    return {
      kind: 'supervised',
      ...this.options.training,
      trainDatasetIds: [this.ids.labeled],
      validationDatasetId: this.ids.validation,
      iterations: this.options.iterations,
      evalEvery: 0,
      seed,
    };
  }

  private async train(config: TrainingConfig): Promise<RunView> {
    const { training } = this.session;
    return training.train((await training.createRun(config)).id, new AbortController().signal);
  }

  /** DeWa for `seed` on the class-agnostic masks "Run DEARLi" makes without SAM weights (the classical fallback, on every training image). */
  async dewa(seed: number): Promise<WarmUp> {
    const t = performance.now();
    const trainIds = [this.ids.labeled, this.ids.unlabeled];
    let maskNote = 'reused';
    if (!this.masksDone) {
      const m = await this.session.masks.maskStage(
        trainIds,
        DEFAULT_MASK_SETTINGS,
        new AbortController().signal,
        () => {},
      );
      maskNote = `${m.generator}: ${m.computed} computed`;
      this.masksDone = true;
    }
    const view = await this.train({
      ...this.base(seed),
      kind: 'dewa',
      trainDatasetIds: trainIds,
      validationDatasetId: null,
      iterations: this.options.dewaIterations,
    });
    if (view.status !== 'finished') throw new Error(`DeWa run ${view.id} ended ${view.status}`);
    this.dewaRunOf.set(seed, view.id);
    return { seed, maskNote, dewaSeconds: (performance.now() - t) / 1000 };
  }

  /** A supervised or Mean Teacher run; one from DeWa needs `dewa(seed)` first. */
  async run(task: TrainingTask): Promise<RunFigures> {
    const t = performance.now();
    const dewaRunId = task.fromDewa ? this.dewaRunOf.get(task.seed) : null;
    if (dewaRunId === undefined) throw new Error(`${task.key} seed ${task.seed} needs its DeWa run first`);
    const view = await this.train(
      task.kind === 'supervised'
        ? this.base(task.seed)
        : {
            ...this.base(task.seed),
            kind: 'meanTeacher',
            unlabeledDatasetIds: [this.ids.unlabeled],
            alpha: task.alpha,
            emaDecay: this.options.training.emaDecay,
            dewaRunId,
          },
    );
    return figures(view, task.seed, (performance.now() - t) / 1000);
  }

  async dispose(): Promise<void> {
    await this.close();
  }
}

/** One task in this session, with the seed's DeWa first when a run starts from it and this session has none yet. */
export async function executeTask(session: AblationSession, task: AblationTask): Promise<TaskOutcome> {
  if (task.kind === 'zeroShot') return { zeroShot: await session.zeroShot() };
  const warmUp = task.fromDewa && !session.hasDewa(task.seed) ? await session.dewa(task.seed) : null;
  return { figures: await session.run(task), warmUp };
}

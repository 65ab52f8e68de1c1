/**
 * The Mean Teacher stage for the runner (fidelity review §9.2): each step is one MeanTeacherTrainer
 * iteration on a labeled batch and unlabeled items (image + CutMix partner). The persisted state is
 * the Mean Teacher checkpoint (student with moments and RNGs, teacher, α history) plus the last
 * losses, split into the supervised and unlabeled terms.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import { restoreMeanTeacher, saveMeanTeacher } from '../../train/meanTeacherCheckpoint';
import type {
  AlphaChange,
  MeanTeacherStepReport,
  MeanTeacherTrainer,
  UnlabeledItem,
} from '../../train/meanTeacherTrainer';
import type { Stage, StageProgress } from '../runner';
import { appliedRateTracker, type AppliedLoss, type BatchSource } from './decoderTraining';

/** Supplies unlabeled images; picks must come from `rng` (the trainer's, persisted) so resumes replay exactly. */
type UnlabeledSource = (count: number, rng: Rng) => Promise<UnlabeledItem[]>;

export interface MeanTeacherStageState {
  kind: 'meanTeacher';
  iteration: number;
  totalIterations: number;
  /** Student checkpoint (checkpoint.ts, with RNG and α history) and teacher weights; absent before the first save. */
  checkpoint: Uint8Array | null;
  teacher: Uint8Array | null;
  lastLoss: AppliedLoss | null;
  alphaHistory: AlphaChange[];
}

export interface MeanTeacherStageOptions {
  totalIterations: number;
  /** Unlabeled items per iteration (upstream: as many as labeled images). */
  unlabeledPerStep: number;
  nextBatch: BatchSource;
  nextUnlabeled: UnlabeledSource;
  /** The α the user asks for now, from the slider or a sweep's best (read before every step: a change applies from that step on). */
  requestedAlpha: () => { alpha: number; source: 'slider' | 'sweep' } | null;
  /**
   * Adaptive α (beyond the paper, whose α is fixed): every `every` iterations, at the step boundary,
   * `bestAlpha` sweeps α with the live teacher and its best applies from the next iteration. The sweep
   * draws no randomness, so a resumed run sweeps the same teacher to the same α.
   */
  adaptiveAlpha: { every: number; bestAlpha: () => Promise<number> } | null;
}

/** The α the user set last (or the starting one): a request applies only when it differs, so adaptive changes are not undone by a standing request. */
function lastUserAlpha(history: readonly AlphaChange[]): number {
  return history.findLast((c) => c.source !== 'adaptive')!.alpha;
}

/** The phases the Train tab shows: the teacher forward + readback, matching, the student's loss + update, and the host pseudo-labels. */
function stepTimings(t: MeanTeacherStepReport['timings']) {
  return {
    forwardAndReadbackMs: t.teacherMs,
    matchingMs: t.matchingMs,
    lossAndUpdateMs: Math.max(0, t.studentMs - t.matchingMs),
    pseudoLabelsMs: t.pseudoLabelsMs,
  };
}

export function meanTeacherStage(
  trainer: MeanTeacherTrainer,
  o: MeanTeacherStageOptions,
): Stage<MeanTeacherStageState> {
  let restored = false;
  const { appliedRates, withRate } = appliedRateTracker();
  const history = () => trainer.alphaHistory.map((c) => ({ ...c }));
  return {
    async init() {
      restored = true;
      return {
        kind: 'meanTeacher',
        iteration: trainer.iteration,
        totalIterations: o.totalIterations,
        checkpoint: null,
        teacher: null,
        lastLoss: null,
        alphaHistory: history(),
      };
    },
    async step(state) {
      if (!restored) {
        if (state.checkpoint && state.teacher)
          await restoreMeanTeacher(trainer, { student: state.checkpoint, teacher: state.teacher });
        restored = true;
      }
      const wanted = o.requestedAlpha();
      if (wanted !== null && wanted.alpha !== lastUserAlpha(trainer.alphaHistory))
        trainer.setAlpha(wanted.alpha, wanted.source);
      const labeled = await o.nextBatch(trainer.iteration, trainer.student.rng);
      const unlabeled = await o.nextUnlabeled(o.unlabeledPerStep, trainer.rng);
      const report = await trainer.step(labeled, unlabeled);
      appliedRates.set(report.iteration - 1, trainer.student.optimizer.appliedLearningRate);
      labeled.targets.masks.dispose();
      for (const t of Object.values(labeled.features) as tf.Tensor[]) t.dispose();
      const adaptive = o.adaptiveAlpha;
      if (adaptive && trainer.iteration % adaptive.every === 0 && trainer.iteration < o.totalIterations)
        trainer.setAlpha(await adaptive.bestAlpha(), 'adaptive');
      const next: MeanTeacherStageState = {
        ...state,
        iteration: trainer.iteration,
        lastLoss: withRate(report.previous) ?? state.lastLoss,
        alphaHistory: history(),
      };
      const progress: StageProgress = {
        done: next.iteration,
        total: o.totalIterations,
        details: {
          loss: next.lastLoss,
          timings: stepTimings(report.timings),
          alpha: report.alpha,
          pseudoSegments: report.pseudoSegments,
        },
      };
      return { state: next, progress };
    },
    isDone: (state) => state.iteration >= state.totalIterations,
    async beforeSave(state) {
      state.lastLoss = withRate(await trainer.student.flushLosses()) ?? state.lastLoss;
      const saved = await saveMeanTeacher(trainer);
      state.checkpoint = saved.student;
      state.teacher = saved.teacher;
      state.alphaHistory = history();
    },
  };
}

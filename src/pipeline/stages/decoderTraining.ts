/**
 * The supervised and DeWa decoder-training stages for the runner: each step asks the caller for a
 * batch (features of the frozen trunk + targets), trains one iteration, and disposes the batch.
 * The persisted state is a checkpoint (weights, moments, iteration, RNG) plus the last losses, each
 * with the learning rate the optimizer applied at that iteration.
 */
import type { Rng } from '../../core/rng';
import type { TrunkFeatures } from '../../models/decoder/m2fLang';
import { restoreCheckpoint, saveCheckpoint } from '../../train/checkpoint';
import type { DecoderStageKind } from '../../train/createTrainer';
import type { TargetBatch } from '../../train/losses';
import type { LossReport, Trainer } from '../../train/trainStep';
import type { Stage, StageProgress } from '../runner';

export interface TrainingBatch {
  features: TrunkFeatures;
  targets: TargetBatch;
}

/** Supplies batches; draws (image order, augmentation) must come from `rng` so resumes replay exactly. */
export type BatchSource = (iteration: number, rng: Rng) => Promise<TrainingBatch>;

/** A step's losses and the learning rate its update used. */
export type AppliedLoss = LossReport & { learningRate: number };

export interface DecoderStageState {
  kind: DecoderStageKind;
  iteration: number;
  totalIterations: number;
  /** Set at every save (see checkpoint.ts); absent before the first. */
  checkpoint: Uint8Array | null;
  lastLoss: AppliedLoss | null;
}

/** Losses are read one step late: the learning rate each iteration applied waits here for them. */
export function appliedRateTracker() {
  const appliedRates = new Map<number, number>();
  const withRate = (loss: LossReport | null): AppliedLoss | null => {
    if (!loss) return null;
    const learningRate = appliedRates.get(loss.iteration) ?? NaN;
    for (const it of appliedRates.keys()) if (it <= loss.iteration) appliedRates.delete(it);
    return { ...loss, learningRate };
  };
  return { appliedRates, withRate };
}

export function decoderTrainingStage(
  kind: DecoderStageKind,
  trainer: Trainer,
  totalIterations: number,
  nextBatch: BatchSource,
): Stage<DecoderStageState> {
  let restored = false;
  const { appliedRates, withRate } = appliedRateTracker();
  return {
    async init() {
      restored = true;
      return { kind, iteration: trainer.iteration, totalIterations, checkpoint: null, lastLoss: null };
    },
    async step(state) {
      if (!restored) {
        if (state.checkpoint) await restoreCheckpoint(trainer, state.checkpoint);
        restored = true;
      }
      const batch = await nextBatch(trainer.iteration, trainer.rng);
      const report = await trainer.step(batch.features, batch.targets);
      appliedRates.set(report.iteration - 1, trainer.optimizer.appliedLearningRate);
      batch.targets.masks.dispose();
      for (const t of Object.values(batch.features)) t.dispose();
      const next: DecoderStageState = {
        ...state,
        iteration: trainer.iteration,
        lastLoss: withRate(report.previous) ?? state.lastLoss,
      };
      const progress: StageProgress = {
        done: next.iteration,
        total: totalIterations,
        details: { loss: next.lastLoss, timings: report.timings },
      };
      return { state: next, progress };
    },
    isDone: (state) => state.iteration >= state.totalIterations,
    async beforeSave(state) {
      state.lastLoss = withRate(await trainer.flushLosses()) ?? state.lastLoss;
      state.checkpoint = await saveCheckpoint(trainer, { stage: kind });
    },
  };
}

/**
 * The supervised and DeWa decoder-training stages for the runner: each step asks the caller for a
 * batch (features of the frozen trunk + targets), trains one iteration, and disposes the batch.
 * The persisted state is a checkpoint (weights, moments, iteration, RNG) plus the last losses.
 */
import type { Rng } from '../../core/rng';
import type { TextClassifier } from '../../models/decoder/classHead';
import type { M2FLang, TrunkFeatures } from '../../models/decoder/m2fLang';
import { restoreCheckpoint, saveCheckpoint } from '../checkpoint';
import { criterionConfig, type TargetBatch } from '../losses';
import { DEFAULT_OPTIMIZER, type OptimizerConfig } from '../optim';
import { Trainer, type LossReport } from '../trainStep';
import type { Stage, StageProgress } from './runner';

export type DecoderStageKind = 'supervised' | 'dewa';

export interface TrainingBatch {
  features: TrunkFeatures;
  targets: TargetBatch;
}

/** Supplies batches; draws (image order, augmentation) must come from `rng` so resumes replay exactly. */
export type BatchSource = (iteration: number, rng: Rng) => Promise<TrainingBatch>;

export interface DecoderStageState {
  kind: DecoderStageKind;
  iteration: number;
  totalIterations: number;
  /** Set at every save (see checkpoint.ts); absent before the first. */
  checkpoint: Uint8Array | null;
  lastLoss: LossReport | null;
}

/**
 * A trainer for one stage. 'supervised': class weight 2 over the classifier's classes (labeled or
 * pseudo-labeled). 'dewa': the classifier must hold the single class "segment, object, regular
 * shape" (targets.ts DEWA_CLASS_SYNONYMS); class weight 0 in loss and matcher.
 */
export function createTrainer(kind: DecoderStageKind, model: M2FLang, classifier: TextClassifier, totalIterations: number, seed: number, optimizer: Partial<OptimizerConfig> = {}): Trainer {
  if (kind === 'dewa' && classifier.numClasses !== 1) throw new Error(`DeWa trains class-agnostically: the classifier must have 1 class, it has ${classifier.numClasses}`);
  return new Trainer(model, classifier, {
    criterion: criterionConfig(classifier.numClasses, model.config, kind === 'dewa'),
    optimizer: { ...DEFAULT_OPTIMIZER, maxIterations: totalIterations, ...optimizer },
    seed,
  });
}

export function decoderTrainingStage(kind: DecoderStageKind, trainer: Trainer, totalIterations: number, nextBatch: BatchSource): Stage<DecoderStageState> {
  let restored = false;
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
      batch.targets.masks.dispose();
      for (const t of Object.values(batch.features)) t.dispose();
      const next: DecoderStageState = { ...state, iteration: trainer.iteration, lastLoss: report.previous ?? state.lastLoss };
      const progress: StageProgress = { iteration: next.iteration, totalIterations, details: { loss: next.lastLoss, timings: report.timings } };
      return { state: next, progress };
    },
    isDone: (state) => state.iteration >= state.totalIterations,
    async beforeSave(state) {
      state.lastLoss = (await trainer.flushLosses()) ?? state.lastLoss;
      state.checkpoint = await saveCheckpoint(trainer, { stage: kind });
    },
  };
}

/** The trainer of one decoder-training stage: the criterion and optimizer the stage kind calls for. */
import type { TextClassifier } from '../models/decoder/classHead';
import type { M2FLang } from '../models/decoder/m2fLang';
import { criterionConfig } from './losses';
import { DEFAULT_OPTIMIZER, type OptimizerConfig } from './optim';
import { Trainer } from './trainStep';

export type DecoderStageKind = 'supervised' | 'dewa';

/**
 * 'supervised': class weight 2 over the classifier's classes (labeled or pseudo-labeled). 'dewa': the
 * classifier must hold the single class "segment, object, regular shape" (targets.ts
 * DEWA_CLASS_SYNONYMS); class weight 0 in loss and matcher.
 */
export function createTrainer(
  kind: DecoderStageKind,
  model: M2FLang,
  classifier: TextClassifier,
  totalIterations: number,
  seed: number,
  optimizer: Partial<OptimizerConfig> = {},
): Trainer {
  if (kind === 'dewa' && classifier.numClasses !== 1)
    throw new Error(
      `DeWa trains class-agnostically: the classifier must have 1 class, it has ${classifier.numClasses}`,
    );
  return new Trainer(model, classifier, {
    criterion: criterionConfig(classifier.numClasses, model.config, kind === 'dewa'),
    optimizer: { ...DEFAULT_OPTIMIZER, maxIterations: totalIterations, ...optimizer },
    seed,
  });
}

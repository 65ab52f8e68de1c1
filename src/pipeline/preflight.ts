/**
 * Pre-flight checks of a training stage: what it needs (datasets, labels, class-agnostic masks) is
 * counted before a run is created, so that a run that cannot train is refused with the counts and
 * the button that fixes it, and no failed run is left behind.
 */
import { countOf, DearliError } from '../core/errors';
import * as store from '../data/store';
import type { TrainingConfig } from './trainingApi';

export async function preflightTraining(db: store.DearliDB, config: TrainingConfig): Promise<void> {
  if (config.trainDatasetIds.length === 0) {
    throw new DearliError(
      'preflight-no-dataset',
      'no training dataset is ticked',
      'Tick a labeled dataset (or, for DeWa, the datasets with class-agnostic masks) above.',
    );
  }
  const datasets = await Promise.all(config.trainDatasetIds.map((id) => store.getDataset(db, id)));
  const missing = datasets.filter((d) => d === undefined).length;
  if (missing > 0) {
    throw new DearliError(
      'preflight-missing-dataset',
      `${countOf(missing, 'chosen training dataset')} ${missing === 1 ? 'is' : 'are'} no longer stored`,
      'Import it again on the Data tab, or tick another dataset.',
    );
  }
  const present = datasets as store.DatasetRecord[];
  if (config.kind === 'supervised') {
    const unlabeled = present.filter((d) => d.labeledCount === 0);
    if (unlabeled.length > 0) {
      throw new DearliError(
        'preflight-no-labels',
        `supervised training needs panoptic labels, and ${unlabeled.map((d) => `"${d.name}"`).join(', ')} has 0 labeled images`,
        'Import a labeled (COCO panoptic) dataset on the Data tab, or choose DeWa.',
      );
    }
  } else {
    const gaps: string[] = [];
    for (const d of present) {
      const withMasks = await store.countSamMasks(db, d.id);
      if (withMasks < d.imageCount)
        gaps.push(`"${d.name}": ${d.imageCount - withMasks} of ${countOf(d.imageCount, 'image')}`);
    }
    if (gaps.length > 0) {
      throw new DearliError(
        'preflight-no-masks',
        `DeWa trains on class-agnostic masks, and images have none (${gaps.join('; ')})`,
        'Press "Run mask stage" on the Masks tab for these datasets first.',
      );
    }
  }
  if (config.validationDatasetId !== null) {
    const validation = await store.getDataset(db, config.validationDatasetId);
    if (!validation)
      throw new DearliError(
        'preflight-missing-dataset',
        'the validation dataset is no longer stored',
        'Choose another validation dataset, or none.',
      );
    // Every kind validates against panoptic labels (DeWa too: its segments are the masks to recall).
    if (validation.labeledCount === 0) {
      throw new DearliError(
        'preflight-no-labels',
        `the validation dataset "${validation.name}" has 0 labeled images`,
        'Choose a labeled validation dataset, or none.',
      );
    }
  }
}

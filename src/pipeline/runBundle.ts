/**
 * The model bundle of a run stored in this browser: its last saved weights, its classes, the CLIP it
 * trained on, the stage chain that made it (DeWa → Mean Teacher for Run DEARLi) with each stage's
 * recipe, and its last validation (alone and with the test-time ensemble).
 */
import { version as LAB_VERSION } from '../../package.json';
import { DearliError } from '../core/errors';
import * as store from '../data/store';
import { decoderParamTable } from '../models/decoder/m2fLang';
import { SafetensorsFile } from '../models/weights/safetensors';
import { readCheckpointMeta } from '../train/checkpoint';
import { UPSTREAM_EMA_DECAY } from '../train/meanTeacher';
import { storedAlphaChange } from '../train/meanTeacherTrainer';
import { UPSTREAM_ENSEMBLE_ALPHA } from '../train/pseudoLabels';
import type { ClipService } from './clip';
import { buildModelBundle, type CardStage, type ModelBundle, type ModelCard } from './modelBundle';
import type { EvalPoint, RunView } from './trainingApi';

/** The card's CLIP sha256 for the offline stand-in backbone (no CLIP weights: a seeded random trunk). */
export const OFFLINE_BACKBONE_SHA256 = '0'.repeat(64);

/** What the training service stores per run (see training.ts): its view and the last checkpoint. */
export interface StoredRun {
  view: RunView;
  stage: { checkpoint: Blob | null } | null;
}

async function storedRun(db: store.DearliDB, runId: string): Promise<StoredRun & { checkpoint: Blob }> {
  const rec = await store.getRun<StoredRun>(db, runId);
  if (!rec) throw new DearliError('use-missing-run', `run ${runId} is not stored`, 'Pick another run.');
  const checkpoint = rec.state.stage?.checkpoint;
  if (!checkpoint)
    throw new DearliError(
      'use-untrained',
      'this run has no saved weights yet',
      'Train it a little longer: a run saves every 10 iterations and when paused.',
    );
  return { ...rec.state, checkpoint };
}

/** The CLIP model id and sha256 of the backbone a run trained on (it must be the one loaded now, or the offline stand-in). */
function runClip(clip: ClipService, view: RunView): ModelCard['clip'] {
  const loaded = clip.current();
  if (loaded && view.backbone.startsWith(`CLIP ${loaded.name}`))
    return { model: loaded.name, sha256: loaded.sha256, ...(loaded.remote ? { source: loaded.remote } : {}) };
  if (!view.backbone.startsWith('CLIP ')) return { model: view.backbone, sha256: OFFLINE_BACKBONE_SHA256 };
  throw new DearliError(
    'use-clip',
    `this run trained on "${view.backbone}", which is not loaded`,
    'Load that CLIP model (Models tab) so the bundle can name its sha256.',
  );
}

/** One stage's recipe as the run trained it (the iterations it reached, not the ones planned). */
function stageRecipe(view: RunView): CardStage {
  const c = view.config;
  const recipe: CardStage = {
    kind: c.kind,
    iterations: view.iteration,
    batch: c.batchSize,
    cropSize: c.cropSize,
    learningRate: c.learningRate,
  };
  if (c.kind !== 'meanTeacher') return recipe;
  const history = (view.alphaHistory ?? [{ iteration: 0, alpha: c.alpha ?? UPSTREAM_ENSEMBLE_ALPHA }]).map(
    storedAlphaChange,
  );
  return {
    ...recipe,
    alpha: history.at(-1)!.alpha,
    alphaHistory: history,
    emaDecay: c.emaDecay ?? UPSTREAM_EMA_DECAY,
    startedFrom: c.dewaRunId ? 'dewa' : 'scratch',
  };
}

/** The stages that made the run's weights, first to last: a Mean Teacher run started from DeWa lists the DeWa run first. */
async function stageChain(db: store.DearliDB, view: RunView): Promise<CardStage[]> {
  const own = stageRecipe(view);
  const dewaRunId = view.config.kind === 'meanTeacher' ? view.config.dewaRunId : null;
  if (!dewaRunId) return [own];
  const dewa = await store.getRun<StoredRun>(db, dewaRunId);
  if (!dewa?.state.view)
    throw new DearliError(
      'use-missing-dewa',
      `the DeWa run ${dewaRunId} this Mean Teacher run started from is no longer stored, so the card cannot list its recipe`,
      'Export Mean Teacher models before deleting the DeWa run they started from.',
    );
  return [stageRecipe(dewa.state.view), own];
}

const percentScores = (e: Omit<EvalPoint, 'iteration' | 'images'>) => ({
  pq: 100 * e.pq,
  sq: 100 * e.sq,
  rq: 100 * e.rq,
  miou: 100 * e.miou,
});

export async function bundleOfRun(db: store.DearliDB, clip: ClipService, runId: string): Promise<ModelBundle> {
  const { view, checkpoint } = await storedRun(db, runId);
  const file = await SafetensorsFile.open(checkpoint, `checkpoint of ${runId}`);
  const decoder = (await readCheckpointMeta(file)).config;
  const parameters = new Map<string, Float32Array>();
  for (const name of decoderParamTable(decoder).keys())
    parameters.set(name, (await file.read(`param/${name}`)).data as Float32Array);
  const { config } = view;
  const categories: { id: number; isthing: boolean }[] =
    config.kind === 'dewa'
      ? [{ id: 1, isthing: true }]
      : ((await store.getDataset(db, config.trainDatasetIds[0]))?.categories ?? []);
  if (categories.length !== view.classNames.length) {
    throw new DearliError(
      'use-missing-dataset',
      "the run's training dataset is no longer stored, so its classes are unknown",
      'Import the dataset again, or export another run.',
    );
  }
  const validationDataset = config.validationDatasetId
    ? await store.getDataset(db, config.validationDatasetId)
    : undefined;
  const last = view.evals.at(-1);
  return buildModelBundle({
    labVersion: LAB_VERSION,
    name: `${config.kind} ${config.preset} (${view.iteration} iterations)`,
    decoder,
    classes: categories.map((c, k) => ({
      id: c.id,
      name: view.classNames[k][0],
      synonyms: view.classNames[k].slice(1),
      isthing: c.isthing,
    })),
    clip: runClip(clip, view),
    stages: await stageChain(db, view),
    validation: last
      ? {
          dataset: validationDataset?.name ?? 'validation',
          images: last.images,
          ...percentScores(last),
          ...(last.ensembled ? { ensembled: { alpha: last.ensembled.alpha, ...percentScores(last.ensembled) } } : {}),
        }
      : null,
    parameters,
  });
}

/**
 * The settings each decoder preset proposes for a new run: a learning rate, crop and length under
 * which validation PQ rises. The paper's AdamW 1e-4 suits its 90k-iteration schedule; runs of a few
 * hundred iterations need 1e-3 to leave PQ 0 (measured on the demo with the tiny preset: 1e-4 for
 * 200 iterations at crop 64 stays at PQ 0, 1e-3 reaches ~30%).
 */
import * as store from '../data/store';
import { UPSTREAM_EMA_DECAY } from '../train/meanTeacher';
import type { DearliProposal, ProposedSettings } from './trainingApi';

type RunProposal = Omit<ProposedSettings, 'dearli'>;

/** The larger presets' proposal follows the tiny one's learning rate; not yet measured on the demo. */
const SHORT_RUN: Omit<RunProposal, 'cropSize'> = { learningRate: 1e-3, iterations: 200 };

/** The decoder's coarsest level has stride 32: crops are multiples of it. */
const CROP_STEP = 32;

/** Images read per dataset to find the training images' typical short edge. */
const SIZE_SAMPLE = 64;

/**
 * `presetCrop` is the preset's own crop (the paper's 640 and the laptop presets' smaller ones);
 * `shortEdge` the training images' typical shortest side (null: not known). A crop above the short
 * edge only upsamples the images (augmentation draws their short edge at 0.5–2× the crop, validation
 * resizes it to the crop), costing (crop/edge)² more compute for no detail, so the crop is capped at
 * the short edge, rounded down to a multiple of 32 (at least 32).
 */
export function proposedSettings(preset: string, presetCrop: number, shortEdge: number | null): ProposedSettings {
  // The tiny preset trains on the demo's small images: at 64 px its stride-4 mask grid is 16x16.
  const crop = preset === 'tiny' ? 64 : presetCrop;
  const cap = shortEdge === null ? crop : Math.max(CROP_STEP, Math.floor(shortEdge / CROP_STEP) * CROP_STEP);
  const run: RunProposal = { ...SHORT_RUN, cropSize: Math.min(crop, cap) };
  return { ...run, dearli: dearliProposal(run.iterations) };
}

/** The median shortest side of the first images of the datasets; null with no dataset or image. */
export async function typicalShortEdge(db: store.DearliDB, datasetIds: readonly string[]): Promise<number | null> {
  const edges: number[] = [];
  for (const id of datasetIds)
    for (const image of await store.listImages(db, id, 0, SIZE_SAMPLE)) edges.push(Math.min(image.width, image.height));
  if (edges.length === 0) return null;
  edges.sort((a, b) => a - b);
  return edges[Math.floor(edges.length / 2)];
}

/**
 * Run DEARLi's stages around a Mean Teacher run of `iterations`: DeWa as long (the paper's schedules
 * are of one order: DeWa 80k, Mean Teacher 90k iterations on ADE), and an EMA decay that keeps the
 * teacher's horizon 1/(1−γ) at a tenth of the run, capped at upstream's 0.999 (horizon 1000): with
 * 0.999 over 200 iterations the teacher would keep 82% of its DeWa start, and its pseudo-labels would
 * hardly change within the run.
 */
export function dearliProposal(iterations: number): DearliProposal {
  return { dewaIterations: iterations, emaDecay: Math.min(UPSTREAM_EMA_DECAY, Math.max(0, 1 - 10 / iterations)) };
}

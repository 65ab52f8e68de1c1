/**
 * The settings each decoder preset proposes for a new run: a learning rate, crop and length under
 * which validation PQ rises. The paper's AdamW 1e-4 suits its 90k-iteration schedule; runs of a few
 * hundred iterations need 1e-3 to leave PQ 0 (measured on the demo with the tiny preset: 1e-4 for
 * 200 iterations at crop 64 stays at PQ 0, 1e-3 reaches ~30%).
 */
import { UPSTREAM_EMA_DECAY } from '../train/meanTeacher';
import type { DearliProposal, ProposedSettings } from './trainingApi';

type RunProposal = Omit<ProposedSettings, 'dearli'>;

/** The larger presets' proposal follows the tiny one's learning rate; not yet measured on the demo. */
const SHORT_RUN: Omit<RunProposal, 'cropSize'> = { learningRate: 1e-3, iterations: 200 };

/** `presetCrop` is the preset's own crop (the paper's 640 and the laptop presets' smaller ones). */
export function proposedSettings(preset: string, presetCrop: number): ProposedSettings {
  const run: RunProposal =
    // The tiny preset trains on the demo's small images: at 64 px its stride-4 mask grid is 16x16.
    preset === 'tiny' ? { learningRate: 1e-3, cropSize: 64, iterations: 200 } : { ...SHORT_RUN, cropSize: presetCrop };
  return { ...run, dearli: dearliProposal(run.iterations) };
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

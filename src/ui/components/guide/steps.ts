/**
 * The pipeline's steps in order (Data → Models → Masks → Train) with their state for the datasets at
 * hand, and the one action that moves on. Pure: the guide component feeds it what the stores hold.
 */
type StepState = 'done' | 'partly done' | 'next' | 'blocked' | 'optional';

export interface GuideStep {
  tab: 'data' | 'models' | 'masks' | 'train';
  title: string;
  state: StepState;
  /** What stands, in numbers, and for a blocked step why. */
  detail: string;
}

export interface GuideInput {
  datasets: { id: string; name: string; role: string; imageCount: number }[];
  /** The loaded CLIP's name, or null (training then uses the offline stand-in backbone). */
  clip: string | null;
  /** Images with class-agnostic masks per dataset id. */
  masked: Record<string, number>;
  runs: { status: string }[];
}

export function guideSteps({ datasets, clip, masked, runs }: GuideInput): {
  steps: GuideStep[];
  next: GuideStep | null;
} {
  const labeled = datasets.filter((d) => d.role === 'labeled');
  const images = datasets.reduce((n, d) => n + d.imageCount, 0);
  const maskedImages = datasets.reduce((n, d) => n + Math.min(d.imageCount, masked[d.id] ?? 0), 0);
  const data: GuideStep = {
    tab: 'data',
    title: 'Import datasets',
    state: labeled.length > 0 ? 'done' : datasets.length > 0 ? 'partly done' : 'next',
    detail:
      datasets.length === 0
        ? 'no datasets yet: drop a COCO-panoptic folder or images'
        : `${datasets.length} datasets, ${images} images${labeled.length === 0 ? '; none labeled (supervised training needs one)' : ''}`,
  };
  const models: GuideStep = {
    tab: 'models',
    title: 'Load CLIP',
    state: clip ? 'done' : 'optional',
    detail: clip
      ? `${clip} loaded`
      : 'not loaded: training uses the offline stand-in backbone (drop CLIP weight files on the Models tab for real features)',
  };
  const masks: GuideStep = {
    tab: 'masks',
    title: 'Class-agnostic masks (for DeWa)',
    state:
      datasets.length === 0 ? 'blocked' : maskedImages >= images ? 'done' : maskedImages > 0 ? 'partly done' : 'next',
    detail:
      datasets.length === 0 ? 'blocked: import a dataset first' : `${maskedImages} of ${images} images have masks`,
  };
  const finished = runs.filter((r) => r.status === 'finished').length;
  const paused = runs.filter((r) => r.status === 'paused').length;
  const train: GuideStep = {
    tab: 'train',
    title: 'Train the decoder',
    state:
      labeled.length === 0 && maskedImages === 0
        ? 'blocked'
        : finished > 0
          ? 'done'
          : runs.length > 0
            ? 'partly done'
            : 'next',
    detail:
      labeled.length === 0 && maskedImages === 0
        ? 'blocked: needs a labeled dataset (supervised) or masks (DeWa)'
        : `${runs.length} runs: ${finished} finished, ${paused} paused`,
  };
  const steps = [data, models, masks, train];
  // Masks only stand in the way of DeWa: with a labeled dataset the next step is training.
  const next =
    data.state !== 'done'
      ? data
      : train.state !== 'done' && train.state !== 'blocked'
        ? train
        : masks.state !== 'done' && masks.state !== 'blocked'
          ? masks
          : null;
  return { steps, next };
}

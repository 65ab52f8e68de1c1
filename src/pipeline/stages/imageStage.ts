/**
 * A stage that visits every image of some datasets once (CLIP features, class-agnostic masks). Its
 * results are stored per image elsewhere (features, samMasks); the state is only where it stands, so
 * a pause mid-image redoes that image and nothing before it.
 */
import type * as store from '../../data/store';
import type { ImageSequence } from '../images';
import type { Stage } from '../runner';

export interface ImageStageState {
  /** Position of the next image in the sequence. */
  next: number;
  total: number;
  /** Images this run computed, and images it found done already (same model and settings). */
  computed: number;
  reused: number;
}

/** Work on one image: true when it computed something, false when the stored result was reused. */
export type ImageWork = (
  image: store.ImageRecord,
  dataset: store.DatasetRecord,
  signal: AbortSignal,
) => Promise<boolean>;

export function imageStage(images: ImageSequence, work: ImageWork): Stage<ImageStageState> {
  return {
    init: async () => ({ next: 0, total: images.total, computed: 0, reused: 0 }),
    async step(state, signal) {
      const { image, dataset } = await images.at(state.next);
      const computed = await work(image, dataset, signal);
      const next = {
        ...state,
        next: state.next + 1,
        computed: state.computed + (computed ? 1 : 0),
        reused: state.reused + (computed ? 0 : 1),
      };
      return {
        state: next,
        progress: { done: next.next, total: next.total, details: { computed: next.computed, current: image.fileName } },
      };
    },
    isDone: (state) => state.next >= state.total,
  };
}

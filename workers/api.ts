/** The worker's typed API for the UI: the session's (src/pipeline/api.ts), exposed over comlink. */
export type * from '../src/pipeline/api';
/** The values the UI takes from here: they have no tfjs behind them. */
export { DEFAULT_MASK_SETTINGS } from '../src/pipeline/masksApi';
export { DEMO_CLIP_NAME, demoClipRequest } from '../src/pipeline/demoClip';

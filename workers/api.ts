/** The worker's typed API for the UI: the session's (src/pipeline/api.ts), exposed over comlink. */
export type * from '../src/pipeline/api';
/** The one value the UI takes from here: it has no tfjs behind it. */
export { DEFAULT_MASK_SETTINGS } from '../src/pipeline/masksApi';

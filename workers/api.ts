/** The worker's typed API for the UI: the session's (src/pipeline/api.ts), exposed over comlink. */
export type * from '../src/pipeline/api';

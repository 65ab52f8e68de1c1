/**
 * The session's typed API, which the worker exposes to the UI over comlink (workers/api.ts). Both
 * sides import these types; everything that crosses is structured-cloneable (Files and Blobs
 * included). Each concern declares its part next to its implementation (./<concern>Api.ts).
 */
import type { BackendInfo } from '../models/backend';
import type { DatasetApi } from './datasetsApi';
import type { MasksApi } from './masksApi';
import type { ModelsApi } from './modelsApi';
import type { PipelineRunApi } from './pipelineRun';
import type { RunsApi } from './runsApi';
import type { TrainingApi } from './trainingApi';
import type { UseApi } from './useApi';

export type * from './datasetsApi';
export type * from './masksApi';
export type * from './modelsApi';
export type * from './runsApi';
export type * from './trainingApi';
export type * from './useApi';
export type { BackendInfo };
export type { PipelineProgress, PipelineRunConfig, PipelineRunState } from './pipelineRun';

interface CoreApi {
  init(): Promise<BackendInfo>;
}

export interface PipelineApi
  extends CoreApi, DatasetApi, ModelsApi, MasksApi, TrainingApi, RunsApi, PipelineRunApi, UseApi {}

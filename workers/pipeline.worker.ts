/// <reference lib="webworker" />
/**
 * The pipeline worker: owns the GPU (tfjs) and the lab's storage. The UI talks to it only through
 * the typed API in ./api.ts (comlink).
 */
import * as Comlink from 'comlink';
import type { PipelineApi } from './api';
import { datasetService } from './datasets';
import { backendReady } from './shared';
import { trainingService } from './training';
import { masksService } from './masks';
import { modelsService } from './models';

const api: PipelineApi = {
  init: backendReady,
  ...datasetService,
  ...trainingService,
  ...modelsService,
  ...masksService,
};

Comlink.expose(api);

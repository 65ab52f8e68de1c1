/// <reference lib="webworker" />
/**
 * The pipeline worker: owns the GPU (tfjs) and the lab's storage. The UI talks to it only through
 * the typed API in ./api.ts (comlink).
 */
import * as Comlink from 'comlink';
import { initBackend, type BackendInfo } from '../src/models/backend';
import type { PipelineApi } from './api';
import { datasetService } from './datasets';
import { trainingService } from './training';
import { masksService } from './masks';
import { modelsService } from './models';

let backend: Promise<BackendInfo> | null = null;

const api: PipelineApi = {
  init: () => (backend ??= initBackend()),
  ...datasetService,
  ...trainingService,
  ...modelsService,
  ...masksService,
};

Comlink.expose(api);

/**
 * The lab session: one per worker (or per test). It owns the storage handle, the loaded models (CLIP,
 * SAM), the caches (weights, text classifiers, decoded samples) and the one active job, and wires
 * the services together: training asks the CLIP service for its backbone and class names through
 * functions handed over here, never through setters between services.
 */
import type { BackendInfo } from '../models/backend';
import type { WeightCache } from '../models/weights/cache';
import type * as store from '../data/store';
import type { PipelineApi } from './api';
import { createClipService } from './clip';
import { createDatasetService } from './datasets';
import type { ImageDecoder } from './images';
import { JobSlot } from './jobs';
import { createMaskService } from './masks';
import { ModelFiles } from './modelFiles';
import { createPipelineRun } from './pipelineRun';
import { createRunsService } from './runs';
import { createTrainingService } from './training';
import { TrainingSamples } from './trainingData';
import { createUseService } from './use';

/** What a session runs on: the browser's in the worker; fakes and Node decoders in tests. */
export interface SessionPlatform {
  backend: BackendInfo;
  db: store.DearliDB;
  weightCache: WeightCache;
  decode: ImageDecoder;
}

export class LabSession {
  readonly jobs = new JobSlot();
  readonly files: ModelFiles;
  readonly samples: TrainingSamples;
  readonly clip;
  readonly masks;
  readonly datasets;
  readonly training;
  readonly runs;
  readonly pipeline;
  readonly use;

  constructor(readonly platform: SessionPlatform) {
    const { db, decode } = platform;
    this.files = new ModelFiles(db, platform.weightCache);
    this.samples = new TrainingSamples(db, decode);
    this.datasets = createDatasetService(db);
    this.clip = createClipService({ db, files: this.files, decode, jobs: this.jobs });
    this.masks = createMaskService({
      db,
      files: this.files,
      decode,
      jobs: this.jobs,
      gpuLimits: platform.backend.limits,
    });
    this.training = createTrainingService({
      db,
      samples: this.samples,
      jobs: this.jobs,
      backbone: () => this.clip.backbone(),
      classNames: (id, categories) => this.clip.editedClassNames(id, categories),
    });
    this.runs = createRunsService(db, this.training);
    this.pipeline = createPipelineRun({
      db,
      jobs: this.jobs,
      clip: this.clip,
      masks: this.masks,
      training: this.training,
    });
    this.use = createUseService({ db, files: this.files, clip: this.clip, decode });
  }

  /** Everything the session offers the UI (the worker exposes it over comlink). */
  api(): PipelineApi {
    const { files, clip, masks } = this;
    return {
      init: async () => this.platform.backend,
      ...this.datasets,
      ...clip.api,
      ...masks.api,
      ...this.training.api,
      ...this.runs.api,
      ...this.pipeline.api,
      ...this.use.api,
      cancelModelLoad: async (kind) => files.cancelLoad(kind),
      listSavedModels: () => files.listSavedModels(),
      loadSavedModel: async (id, onProgress) => {
        const meta = await files.savedModelMeta(id);
        return meta.kind === 'sam' ? masks.loadSaved(meta, onProgress) : clip.loadSaved(meta, onProgress);
      },
      freeSavedModel: async (id) => {
        const meta = await files.freeSavedModel(id);
        if (meta?.kind === 'clip' && clip.current()?.sha256 === meta.card.sha256) await clip.unload();
        if (meta?.kind === 'sam' && masks.current()?.sha256 === meta.card.sha256) masks.use(null);
      },
      listCachedFiles: async () => (await files.cache.list()).sort((a, b) => b.date.localeCompare(a.date)),
      freeCachedFile: async (key) => {
        await files.cache.delete(key);
      },
      cancelStage: async () => {
        await this.jobs.stop('the CLIP feature stage');
        await this.jobs.stop('the zero-shot evaluation');
      },
    };
  }

  /** Frees the models and cached tensors (tests; a worker lives as long as its page). */
  async dispose(): Promise<void> {
    this.use.dispose();
    await this.clip.dispose();
    this.masks.use(null);
    this.samples.dispose();
  }
}

/**
 * What the CLIP and SAM services share: the one weight cache, fetching a file from the hub / a URL /
 * a drop into it with progress, the records that let a model load again from the cache alone, and
 * model cards.
 */
import { DearliError } from '../core/errors';
import * as store from '../data/store';
import type { WeightCache } from '../models/weights/cache';
import { listHubFiles, loadWeightFile, type WeightFile } from '../models/weights/hub';
import { openTensorSource, type TensorSource } from '../models/weights/tensorSource';
import type {
  ConfigSource,
  FileSource,
  LoadKind,
  ModelCard,
  ModelDownloadProgress,
  ModelKind,
  SavedModel,
} from './modelsApi';

export type ProgressSink = (p: ModelDownloadProgress) => void;

/** A file fetched into (or found in) the cache, with the role it plays for the model. */
export interface ModelFile extends WeightFile {
  role: string;
}

/** A file that sits next to the weights: same hub repo, or the same URL folder. */
export function siblingSource(weights: FileSource, fileName: string): FileSource {
  if (weights.kind === 'hub') return { kind: 'hub', repo: weights.repo, file: fileName, revision: weights.revision };
  if (weights.kind === 'url') return { kind: 'url', url: new URL(fileName, weights.url).href };
  throw new DearliError(
    'config-missing',
    `a dropped weight file has no ${fileName} next to it`,
    'Choose a preset, or give the config file too.',
    weights.file.name,
  );
}

/** Config source → the file to fetch, or null for a preset. */
export async function configFileSource(
  config: ConfigSource,
  weights: FileSource,
  defaultName: string,
  signal: AbortSignal,
): Promise<FileSource | null> {
  if (config.kind === 'preset') return null;
  if (config.kind !== 'next-to-weights') return config;
  if (weights.kind === 'hub') {
    const files = await listHubFiles(weights.repo, { revision: weights.revision, signal });
    if (!files.includes(defaultName)) {
      throw new DearliError(
        'config-missing',
        `the repository has no ${defaultName}`,
        'Choose the architecture preset that matches the weights.',
        weights.repo,
      );
    }
  }
  return siblingSource(weights, defaultName);
}

export async function readJson(file: ModelFile): Promise<unknown> {
  const text = await file.blob.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DearliError(
      'config-format',
      `the file is not valid JSON (${(e as Error).message})`,
      "Give the model's config.json as published with the weights.",
      file.name,
    );
  }
}

/** Parameter count = every element of every tensor in the checkpoint. */
export function parameterCount(source: TensorSource): number {
  let n = 0;
  for (const name of source.names) n += source.shape(name).reduce((a, d) => a * d, 1);
  return n;
}

export function modelCard(
  kind: ModelKind,
  name: string,
  weights: ModelFile,
  parameters: number,
  details: string[],
): ModelCard {
  return {
    kind,
    name,
    fileName: weights.name,
    parameters,
    bytes: weights.blob.size,
    source: weights.sourceUrl,
    sha256: weights.cached?.sha256 ?? '',
    details,
  };
}

// --- Saved models: a card plus the cache keys of every file, in the models store ---------------

export interface SavedModelMeta {
  kind: ModelKind;
  card: ModelCard;
  /** Cache keys by role (weights, config, tokenizer files). */
  files: { role: string; key: string; name: string }[];
  /** Set when the architecture came from a preset rather than a file. */
  preset?: string;
}

const SAVED_PREFIX = 'saved:';

/** A saved model's record id: one per weight file. */
export const savedModelId = (meta: SavedModelMeta): string =>
  `${SAVED_PREFIX}${meta.kind}:${meta.files.find((f) => f.role === 'weights')?.key ?? meta.card.sha256}`;

export function fileRecord(f: ModelFile): SavedModelMeta['files'][number] {
  if (!f.cached)
    throw new DearliError(
      'cache-failed',
      'the file was not kept in the browser cache',
      'Free some storage space and load the model again.',
      f.name,
    );
  return { role: f.role, key: f.cached.key, name: f.name };
}

/**
 * The weight cache and the saved-model records of one session, and a controller for the download or load
 * of each kind that runs now: a new load cancels the previous one of its kind only.
 */
export class ModelFiles {
  private readonly loads = new Map<LoadKind, AbortController>();

  constructor(
    private readonly db: store.DearliDB,
    readonly cache: WeightCache,
  ) {}

  beginLoad(kind: LoadKind): AbortSignal {
    this.loads.get(kind)?.abort();
    const controller = new AbortController();
    this.loads.set(kind, controller);
    return controller.signal;
  }

  cancelLoad(kind: LoadKind): void {
    this.loads.get(kind)?.abort();
  }

  /** Hub, URL or dropped file → cached Blob (dropped files are copied into the cache so a reload finds them). */
  async fetchModelFile(
    source: FileSource,
    role: string,
    signal: AbortSignal,
    onProgress: ProgressSink,
    /** Downloads are retried with backoff; a caller may ask for fewer tries. */
    attempts?: { maxAttempts: number },
  ): Promise<ModelFile> {
    const weightSource =
      source.kind === 'file' ? { kind: 'file' as const, file: source.file, keepInCache: true } : source;
    const label =
      source.kind === 'file'
        ? source.file.name
        : source.kind === 'url'
          ? source.url
          : `${source.repo}${source.file ? `/${source.file}` : ''}`;
    onProgress({
      stage: role,
      fileName: label,
      receivedBytes: 0,
      totalBytes: null,
      megabytesPerSecond: 0,
      etaSeconds: null,
    });
    const file = await loadWeightFile(weightSource, this.cache, {
      ...attempts,
      signal,
      expected: source.kind === 'url' && source.sha256 ? { sha256: source.sha256 } : undefined,
      onProgress: (p) => onProgress({ stage: role, fileName: label, ...p }),
    });
    signal.throwIfAborted();
    return { ...file, role };
  }

  async saveModel(meta: SavedModelMeta): Promise<string> {
    const id = savedModelId(meta);
    await store.putModel(this.db, { id, updatedAt: Date.now(), meta: meta as unknown as Record<string, unknown> });
    return id;
  }

  async savedModelMeta(id: string): Promise<SavedModelMeta> {
    const record = await store.getModel(this.db, id);
    if (!record || !id.startsWith(SAVED_PREFIX))
      throw new DearliError(
        'model-not-saved',
        'this model is no longer saved',
        'Load it again from the hub, a URL or a file.',
      );
    return record.meta as unknown as SavedModelMeta;
  }

  async listSavedModels(): Promise<SavedModel[]> {
    const records = (await store.listModels(this.db)).filter((r) => r.id.startsWith(SAVED_PREFIX));
    const cachedKeys = new Set((await this.cache.list()).map((f) => f.key));
    return records
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map((r) => {
        const meta = r.meta as unknown as SavedModelMeta;
        return {
          id: r.id,
          card: meta.card,
          available: meta.files.every((f) => cachedKeys.has(f.key)),
          savedAt: r.updatedAt,
        };
      });
  }

  /** Frees the cached files of a saved model and forgets it. */
  async freeSavedModel(id: string): Promise<SavedModelMeta | null> {
    const record = await store.getModel(this.db, id);
    if (!record) return null;
    const meta = record.meta as unknown as SavedModelMeta;
    for (const f of meta.files) await this.cache.delete(f.key);
    await store.deleteModel(this.db, id);
    return meta;
  }

  /** A saved model's weights, config (absent with a preset) and other files, from the cache only, under a new load signal. */
  async openSaved(
    meta: SavedModelMeta,
    kind: LoadKind,
  ): Promise<{ signal: AbortSignal; weights: ModelFile; config: ModelFile | undefined; others: ModelFile[] }> {
    const signal = this.beginLoad(kind);
    const saved = await this.cachedModelFiles(meta);
    const weights = saved.find((f) => f.role === 'weights')!;
    return {
      signal,
      weights,
      config: saved.find((f) => f.role === 'config'),
      others: saved.filter((f) => f.role !== 'weights' && f.role !== 'config'),
    };
  }

  /** A saved model's files from the cache only: loading a saved model never touches the network. */
  private async cachedModelFiles(meta: SavedModelMeta): Promise<ModelFile[]> {
    return Promise.all(
      meta.files.map(async (f) => {
        const hit = await this.cache.get(f.key);
        if (!hit) {
          throw new DearliError(
            'cache-missing',
            `${f.name} is no longer in the browser cache`,
            'Load the model again from the hub, a URL or a file.',
            f.name,
          );
        }
        return { role: f.role, blob: hit.blob, name: hit.info.name, sourceUrl: hit.info.sourceUrl, cached: hit.info };
      }),
    );
  }
}

/** Opens a downloaded or dropped weight file as a tensor source, reporting the "loading" step. */
export async function openModelWeights(weights: ModelFile, onProgress: ProgressSink): Promise<TensorSource> {
  const size = weights.blob.size;
  onProgress({
    stage: 'loading',
    fileName: weights.name,
    receivedBytes: size,
    totalBytes: size,
    megabytesPerSecond: 0,
    etaSeconds: 0,
  });
  return openTensorSource(weights.blob, weights.name);
}

/**
 * What the CLIP and SAM services share: the one weight cache, fetching a file from the hub / a URL /
 * a drop into it with progress, the records that let a model load again from the cache alone, model
 * cards, stage progress and image decoding in the worker.
 */
import { DearliError } from '../src/core/errors';
import * as store from '../src/data/store';
import { openWeightCache, type WeightCache } from '../src/models/weights/cache';
import { listHubFiles, loadWeightFile, type WeightFile } from '../src/models/weights/hub';
import type { TensorSource } from '../src/models/weights/tensorSource';
import type { ConfigSource, FileSource, ModelCard, ModelDownloadProgress, ModelKind, SavedModel, StageProgress } from './modelsApi';
import { db } from './shared';

let cache: WeightCache | null = null;

export function weightCache(): WeightCache {
  return (cache ??= openWeightCache());
}

/** One controller for whichever model download or load runs now (the UI shows one at a time). */
let loadAbort: AbortController | null = null;

export function beginModelLoad(): AbortSignal {
  loadAbort?.abort();
  loadAbort = new AbortController();
  return loadAbort.signal;
}

export function cancelModelLoad(): void {
  loadAbort?.abort();
}

export type ProgressSink = (p: ModelDownloadProgress) => void;

/** A file fetched into (or found in) the cache, with the role it plays for the model. */
export interface ModelFile extends WeightFile {
  role: string;
}

/** Hub, URL or dropped file → cached Blob (dropped files are copied into the cache so a reload finds them). */
export async function fetchModelFile(source: FileSource, role: string, signal: AbortSignal, onProgress: ProgressSink): Promise<ModelFile> {
  const weightSource = source.kind === 'file' ? { kind: 'file' as const, file: source.file, keepInCache: true } : source;
  const label = source.kind === 'file' ? source.file.name : source.kind === 'url' ? source.url : `${source.repo}${source.file ? `/${source.file}` : ''}`;
  onProgress({ stage: role, fileName: label, receivedBytes: 0, totalBytes: null, megabytesPerSecond: 0, etaSeconds: null });
  const file = await loadWeightFile(weightSource, weightCache(), {
    signal,
    onProgress: (p) => onProgress({ stage: role, fileName: label, ...p }),
  });
  signal.throwIfAborted();
  return { ...file, role };
}

/** A file that sits next to the weights: same hub repo, or the same URL folder. */
export function siblingSource(weights: FileSource, fileName: string): FileSource {
  if (weights.kind === 'hub') return { kind: 'hub', repo: weights.repo, file: fileName, revision: weights.revision };
  if (weights.kind === 'url') return { kind: 'url', url: new URL(fileName, weights.url).href };
  throw new DearliError('config-missing', `a dropped weight file has no ${fileName} next to it`, 'Choose a preset, or give the config file too.', weights.file.name);
}

/** Config source → the file to fetch, or null for a preset. */
export async function configFileSource(config: ConfigSource, weights: FileSource, defaultName: string, signal: AbortSignal): Promise<FileSource | null> {
  if (config.kind === 'preset') return null;
  if (config.kind !== 'next-to-weights') return config;
  if (weights.kind === 'hub') {
    const files = await listHubFiles(weights.repo, { signal });
    if (!files.includes(defaultName)) {
      throw new DearliError('config-missing', `the repository has no ${defaultName}`, 'Choose the architecture preset that matches the weights.', weights.repo);
    }
  }
  return siblingSource(weights, defaultName);
}

export async function readJson(file: ModelFile): Promise<unknown> {
  const text = await file.blob.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DearliError('config-format', `the file is not valid JSON (${(e as Error).message})`, 'Give the model\'s config.json as published with the weights.', file.name);
  }
}

/** Parameter count = every element of every tensor in the checkpoint. */
export function parameterCount(source: TensorSource): number {
  let n = 0;
  for (const name of source.names) n += source.shape(name).reduce((a, d) => a * d, 1);
  return n;
}

export function modelCard(kind: ModelKind, name: string, weights: ModelFile, parameters: number, details: string[]): ModelCard {
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

export async function saveModel(meta: SavedModelMeta): Promise<string> {
  const id = `${SAVED_PREFIX}${meta.kind}:${meta.files.find((f) => f.role === 'weights')?.key ?? meta.card.sha256}`;
  await store.putModel(await db(), { id, updatedAt: Date.now(), meta: meta as unknown as Record<string, unknown> });
  return id;
}

export async function savedModelMeta(id: string): Promise<SavedModelMeta> {
  const record = await store.getModel(await db(), id);
  if (!record || !id.startsWith(SAVED_PREFIX)) throw new DearliError('model-not-saved', 'this model is no longer saved', 'Load it again from the hub, a URL or a file.');
  return record.meta as unknown as SavedModelMeta;
}

export async function listSavedModels(): Promise<SavedModel[]> {
  const records = (await store.listModels(await db())).filter((r) => r.id.startsWith(SAVED_PREFIX));
  const cachedKeys = new Set((await weightCache().list()).map((f) => f.key));
  return records
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .map((r) => {
      const meta = r.meta as unknown as SavedModelMeta;
      return { id: r.id, card: meta.card, available: meta.files.every((f) => cachedKeys.has(f.key)), savedAt: r.updatedAt };
    });
}

/** Frees the cached files of a saved model and forgets it. */
export async function freeSavedModel(id: string): Promise<SavedModelMeta | null> {
  const record = await store.getModel(await db(), id);
  if (!record) return null;
  const meta = record.meta as unknown as SavedModelMeta;
  for (const f of meta.files) await weightCache().delete(f.key);
  await store.deleteModel(await db(), id);
  return meta;
}

/** A saved model's files from the cache only: loading a saved model never touches the network. */
export async function cachedModelFiles(meta: SavedModelMeta): Promise<ModelFile[]> {
  return Promise.all(
    meta.files.map(async (f) => {
      const hit = await weightCache().get(f.key);
      if (!hit) {
        throw new DearliError('cache-missing', `${f.name} is no longer in the browser cache`, 'Load the model again from the hub, a URL or a file.', f.name);
      }
      return { role: f.role, blob: hit.blob, name: hit.info.name, sourceUrl: hit.info.sourceUrl, cached: hit.info };
    }),
  );
}

export function fileRecord(f: ModelFile): SavedModelMeta['files'][number] {
  if (!f.cached) throw new DearliError('cache-failed', 'the file was not kept in the browser cache', 'Free some storage space and load the model again.', f.name);
  return { role: f.role, key: f.cached.key, name: f.name };
}

// --- Stage progress ------------------------------------------------------------------------------

/** Rate and ETA of a per-item stage, measured from its start. */
export class StageMeter {
  private readonly start = performance.now();
  constructor(
    readonly total: number,
    readonly label: string,
  ) {}

  progress(done: number, counted = done): StageProgress {
    const seconds = (performance.now() - this.start) / 1000;
    const rate = seconds > 0 ? counted / seconds : 0;
    return { done, total: this.total, rate, etaSeconds: rate > 0 ? (this.total - done) / rate : 0, label: this.label };
  }
}

// --- Images ---------------------------------------------------------------------------------------

/** An image Blob → RGBA pixels, optionally resized (stretched) to width × height. */
export async function decodeImageRgba(blob: Blob, fileName: string, size?: { width: number; height: number }): Promise<{ rgba: Uint8ClampedArray; width: number; height: number }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new DearliError('image-decode', `the image could not be decoded (${(e as Error).message})`, 'Re-import the dataset; the stored image may be damaged.', fileName);
  }
  const width = size?.width ?? bitmap.width;
  const height = size?.height ?? bitmap.height;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new DearliError('canvas', 'the worker has no 2D canvas', 'Use a current Chrome.');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return { rgba: ctx.getImageData(0, 0, width, height).data, width, height };
}


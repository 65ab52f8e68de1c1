/**
 * The one IndexedDB schema of DEARLi Lab ('dearli-lab') and small typed accessors for it.
 * Works in page, worker and Node (with fake-indexeddb). Large payloads are stored as Blobs, never
 * ArrayBuffers: browsers keep Blobs as separate files and cap serialised values at ~128 MB.
 *
 * Imports are crash-safe: a dataset record is written first with `committed: false`, its images
 * follow in batches, and the flag is set last. Readers only list committed datasets, and
 * `openStore` sweeps uncommitted ones that no running import holds (Web Locks, where available).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Category, SegmentInfo } from '../core/panoptic';
import type { CocoRle } from '../core/rle';
import type { DatasetRole, ImageType, LayoutKind } from './types';

const DB_NAME = 'dearli-lab';
/** 2: the unused `checkpoints` store is gone (training checkpoints live in their run's state). */
const DB_VERSION = 2;

export interface DatasetRecord {
  id: string;
  name: string;
  role: DatasetRole;
  layout: LayoutKind;
  categories: Category[];
  imageCount: number;
  labeledCount: number;
  /** Bytes of the stored images and masks (thumbnails excluded). */
  bytes: number;
  createdAt: number;
  /** False while an import is writing; only committed datasets are visible. */
  committed: boolean;
  annotationFile?: string;
}

export interface ImageRecord {
  /** `${datasetId}:${index}`. */
  id: string;
  datasetId: string;
  /** 0-based position in the dataset; contiguous, so pages are key ranges. */
  index: number;
  fileName: string;
  type: ImageType;
  width: number;
  height: number;
  bytes: number;
  blob: Blob;
  /** The panoptic PNG (RGB ids) and its segments, for labeled datasets. */
  mask?: Blob;
  segments?: SegmentInfo[];
  /** A JPEG at most 160 px on a side; absent for an image that small already (it is its own). */
  thumbnail?: Blob;
  sourceImageId?: number | string;
}

/**
 * One class-agnostic mask as SA-1B files hold it: compressed COCO RLE plus area and, where known,
 * box and SAM scores. Both core MaskRecord (SAM, fallback) and imported SA-1B annotations fit.
 */
interface StoredMask {
  segmentation: CocoRle;
  area: number;
  bbox?: [number, number, number, number];
  predicted_iou?: number | null;
  stability_score?: number | null;
}

type SamMaskSource = 'sam' | 'fallback' | 'imported';

export interface SamMaskRecord {
  imageId: string;
  datasetId: string;
  source: SamMaskSource;
  masks: StoredMask[];
  /** What produced the masks (model, points per side, thresholds), so a change invalidates them. */
  params: Record<string, unknown>;
  createdAt: number;
}

export interface FeatureRecord {
  key: string;
  /** Set for per-image features so deleting the dataset removes them. */
  datasetId?: string;
  meta: Record<string, unknown>;
  blob: Blob;
}

export interface RunRecord<State = unknown> {
  id: string;
  updatedAt: number;
  state: State;
}

export interface ModelRecord {
  id: string;
  updatedAt: number;
  meta: Record<string, unknown>;
}

interface DearliSchema extends DBSchema {
  datasets: { key: string; value: DatasetRecord };
  images: { key: string; value: ImageRecord; indexes: { byDataset: [string, number] } };
  samMasks: { key: string; value: SamMaskRecord; indexes: { byDataset: string } };
  features: { key: string; value: FeatureRecord; indexes: { byDataset: string } };
  runs: { key: string; value: RunRecord };
  models: { key: string; value: ModelRecord };
}

export type DearliDB = IDBPDatabase<DearliSchema>;

/** Opens (creating or upgrading) the database and sweeps imports that crashed before committing. */
export async function openStore(name: string = DB_NAME): Promise<DearliDB> {
  const db = await openDB<DearliSchema>(name, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) {
        database.createObjectStore('datasets', { keyPath: 'id' });
        database.createObjectStore('images', { keyPath: 'id' }).createIndex('byDataset', ['datasetId', 'index']);
        database.createObjectStore('samMasks', { keyPath: 'imageId' }).createIndex('byDataset', 'datasetId');
        database.createObjectStore('features', { keyPath: 'key' }).createIndex('byDataset', 'datasetId');
        database.createObjectStore('runs', { keyPath: 'id' });
        database.createObjectStore('models', { keyPath: 'id' });
      }
      // Version 1 also had a `checkpoints` store that nothing wrote.
      if ((database.objectStoreNames as DOMStringList).contains('checkpoints'))
        database.deleteObjectStore('checkpoints' as never);
    },
  });
  await sweepUncommitted(db);
  return db;
}

/** The Web Lock an import holds while writing, so other tabs or workers do not sweep it. */
export function importLockName(datasetId: string): string {
  return `dearli-lab:import:${datasetId}`;
}

function webLocks(): LockManager | undefined {
  return typeof navigator !== 'undefined' ? navigator.locks : undefined;
}

/** Deletes datasets whose import never committed and that no live import is still writing. */
async function sweepUncommitted(db: DearliDB): Promise<string[]> {
  const stale = (await db.getAll('datasets')).filter((d) => !d.committed).map((d) => d.id);
  if (stale.length === 0) return [];
  const locks = webLocks();
  const held = new Set(locks ? ((await locks.query()).held ?? []).map((l) => l.name) : []);
  const swept = stale.filter((id) => !held.has(importLockName(id)));
  for (const id of swept) await deleteDatasetRecords(db, id);
  return swept;
}

/** Committed datasets, oldest first. */
export async function listDatasets(db: DearliDB): Promise<DatasetRecord[]> {
  const all = await db.getAll('datasets');
  return all.filter((d) => d.committed).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

export async function getDataset(db: DearliDB, id: string): Promise<DatasetRecord | undefined> {
  const d = await db.get('datasets', id);
  return d?.committed ? d : undefined;
}

export async function renameDataset(db: DearliDB, id: string, name: string): Promise<void> {
  const tx = db.transaction('datasets', 'readwrite');
  const d = await tx.store.get(id);
  if (!d) throw new RangeError(`no dataset ${id}`);
  await tx.store.put({ ...d, name });
  await tx.done;
}

/** Deletes a dataset with its images, SAM masks and per-image features, in one transaction. */
export async function deleteDataset(db: DearliDB, id: string): Promise<void> {
  await deleteDatasetRecords(db, id);
}

async function deleteDatasetRecords(db: DearliDB, id: string): Promise<void> {
  const tx = db.transaction(['datasets', 'images', 'samMasks', 'features'], 'readwrite');
  const images = tx.objectStore('images').index('byDataset');
  for (let c = await images.openCursor(imageRange(id)); c; c = await c.continue()) await c.delete();
  for (const store of ['samMasks', 'features'] as const) {
    const index = tx.objectStore(store).index('byDataset');
    for (let c = await index.openCursor(IDBKeyRange.only(id)); c; c = await c.continue()) await c.delete();
  }
  await tx.objectStore('datasets').delete(id);
  await tx.done;
}

function imageRange(datasetId: string, first = 0, last = Number.MAX_SAFE_INTEGER): IDBKeyRange {
  return IDBKeyRange.bound([datasetId, first], [datasetId, last]);
}

export function imageId(datasetId: string, index: number): string {
  return `${datasetId}:${index}`;
}

/** One page of a dataset's images in import order (for a virtualised grid). */
export async function listImages(
  db: DearliDB,
  datasetId: string,
  offset: number,
  limit: number,
): Promise<ImageRecord[]> {
  if (limit <= 0) return [];
  return db.getAllFromIndex('images', 'byDataset', imageRange(datasetId, offset, offset + limit - 1));
}

export async function getImage(db: DearliDB, id: string): Promise<ImageRecord | undefined> {
  return db.get('images', id);
}

export async function countImages(db: DearliDB, datasetId: string): Promise<number> {
  return db.countFromIndex('images', 'byDataset', imageRange(datasetId));
}

/** Writes the uncommitted dataset record that opens an import. */
export async function beginDataset(db: DearliDB, record: Omit<DatasetRecord, 'committed'>): Promise<void> {
  await db.add('datasets', { ...record, committed: false });
}

/** Writes one batch of images in a single transaction. */
export async function putImages(db: DearliDB, records: ImageRecord[]): Promise<void> {
  const tx = db.transaction('images', 'readwrite');
  const writes: Promise<unknown>[] = [];
  try {
    for (const r of records) writes.push(tx.store.put(r));
  } catch (e) {
    // A put that throws (quota, clone error) must not let the rest of the batch commit.
    for (const w of [...writes, tx.done]) w.catch(() => undefined);
    tx.abort();
    throw e;
  }
  await Promise.all([...writes, tx.done]);
}

/** Sets the final counts and the committed flag, making the dataset visible. */
export async function markCommitted(
  db: DearliDB,
  id: string,
  totals: Pick<DatasetRecord, 'imageCount' | 'labeledCount' | 'bytes'>,
): Promise<DatasetRecord> {
  const tx = db.transaction('datasets', 'readwrite');
  const d = await tx.store.get(id);
  if (!d) throw new RangeError(`no dataset ${id}`);
  const committed: DatasetRecord = { ...d, ...totals, committed: true };
  await tx.store.put(committed);
  await tx.done;
  return committed;
}

/** Removes an import that was cancelled or failed: everything written under its id. */
export async function discardDataset(db: DearliDB, id: string): Promise<void> {
  await deleteDatasetRecords(db, id);
}

// --- Stores used by later stages -------------------------------------------------------------

export async function putSamMasks(db: DearliDB, record: SamMaskRecord): Promise<void> {
  await db.put('samMasks', record);
}

export async function getSamMasks(db: DearliDB, imageId: string): Promise<SamMaskRecord | undefined> {
  return db.get('samMasks', imageId);
}

export async function countSamMasks(db: DearliDB, datasetId: string): Promise<number> {
  return db.countFromIndex('samMasks', 'byDataset', datasetId);
}

export async function putFeature(db: DearliDB, record: FeatureRecord): Promise<void> {
  await db.put('features', record);
}

export async function getFeature(db: DearliDB, key: string): Promise<FeatureRecord | undefined> {
  return db.get('features', key);
}

/** Keys of stored features starting with `prefix` (e.g. 'clip-convnext-b:'). */
export async function listFeatureKeys(db: DearliDB, prefix = ''): Promise<string[]> {
  const range = prefix ? IDBKeyRange.bound(prefix, `${prefix}\uffff`) : undefined;
  return db.getAllKeys('features', range);
}

export async function putRun<State>(db: DearliDB, record: RunRecord<State>): Promise<void> {
  await db.put('runs', record);
}

export async function getRun<State = unknown>(db: DearliDB, id: string): Promise<RunRecord<State> | undefined> {
  return (await db.get('runs', id)) as RunRecord<State> | undefined;
}

export async function listRuns(db: DearliDB): Promise<RunRecord[]> {
  return db.getAll('runs');
}

export async function deleteRun(db: DearliDB, id: string): Promise<void> {
  await db.delete('runs', id);
}

export async function putModel(db: DearliDB, record: ModelRecord): Promise<void> {
  await db.put('models', record);
}

export async function getModel(db: DearliDB, id: string): Promise<ModelRecord | undefined> {
  return db.get('models', id);
}

export async function listModels(db: DearliDB): Promise<ModelRecord[]> {
  return db.getAll('models');
}

export async function deleteModel(db: DearliDB, id: string): Promise<void> {
  await db.delete('models', id);
}

// --- Browser storage ---------------------------------------------------------------------------

export interface StorageEstimate {
  usage: number;
  quota: number;
}

/** Usage and quota of this origin, or null where the Storage API is absent (Node). */
export async function storageEstimate(): Promise<StorageEstimate | null> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!storage?.estimate) return null;
  const { usage = 0, quota = 0 } = await storage.estimate();
  return { usage, quota };
}

/**
 * Asks the browser not to evict this origin's data under storage pressure. Returns whether data is
 * persisted; false where the API is absent (Node, and workers, where `persist` is not exposed).
 */
export async function requestPersistence(): Promise<boolean> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!storage) return false;
  if (storage.persisted && (await storage.persisted())) return true;
  return storage.persist ? storage.persist() : false;
}

/**
 * The second step of import: `commitImport` writes a plan (import.ts) to IndexedDB in small batches,
 * one image in memory at a time, and either commits the whole dataset or leaves the store as it was
 * (cancel, error, full quota).
 */
import { DearliError, type UserMessage } from '../core/errors';
import { decodeMaskPng, encodeIdPng } from './decode';
import { readBlob } from './files';
import { progressMeter, throwIfAborted } from './importProgress';
import { asFileProblem, problems } from './problems';
import {
  beginDataset,
  deleteDataset,
  discardDataset,
  imageId,
  importLockName,
  markCommitted,
  putImages,
  storageEstimate,
  type DatasetRecord,
  type DearliDB,
  type ImageRecord,
} from './store';
import type { DatasetRole, ImportPlan, ImportPlanSet, ImportProgress, PlannedImage } from './types';

export interface CommitOptions {
  name: string;
  role: DatasetRole;
}

export interface CommitControl {
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** Images per IndexedDB transaction (a batch also closes at 32 MB). */
  batchSize?: number;
}

const BATCH_BYTES = 32 * 1024 * 1024;
const THUMBNAIL_SIDE = 160;

const MIME: Record<PlannedImage['type'], string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Writes a plan as a new dataset and returns its record. Throws the plan's first error if it has
 * any; a DearliError 'cancelled' when `signal` aborts; 'storage-full' when the quota runs out. In
 * every failure case, whatever this import wrote is deleted before the error is thrown.
 */
export async function commitImport(
  db: DearliDB,
  plan: ImportPlan,
  options: CommitOptions,
  control: CommitControl = {},
): Promise<DatasetRecord> {
  if (plan.errors.length) throw fromMessage(plan.errors[0]);
  if (options.role !== 'unlabeled' && plan.labeledCount === 0) throw problems.needsLabels(options.role);
  throwIfAborted(control.signal);
  // Refuse up front what clearly cannot fit; the estimate is approximate, so a quota error can still come later.
  const estimate = await storageEstimate();
  if (estimate && estimate.quota > 0 && plan.bytes > estimate.quota - estimate.usage)
    throw problems.notEnoughStorage(plan.bytes, estimate.quota - estimate.usage);
  const id = newDatasetId();
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  const write = () => writeDataset(db, id, plan, options, control);
  // The lock tells other tabs' start-up sweep that this uncommitted dataset is still being written.
  return locks ? locks.request(importLockName(id), write) : write();
}

/**
 * Writes the chosen splits of a plan set, each as its own dataset (`choices[i]` names split i and
 * gives its role; null leaves it out). All or none: nothing is written while any chosen split has
 * a problem, and a failure or cancel part-way deletes the datasets this call already committed.
 */
export async function commitImports(
  db: DearliDB,
  set: ImportPlanSet,
  choices: (CommitOptions | null)[],
  control: CommitControl = {},
): Promise<DatasetRecord[]> {
  if (choices.length !== set.splits.length)
    throw new Error(`commitImports: ${choices.length} choices for ${set.splits.length} splits`);
  if (set.errors.length) throw fromMessage(set.errors[0]);
  const chosen = set.splits.flatMap((plan, i) => (choices[i] ? [{ plan, options: choices[i] }] : []));
  if (chosen.length === 0) throw problems.noSplitChosen();
  for (const { plan } of chosen) if (plan.errors.length) throw fromMessage(plan.errors[0]);
  const total = chosen.reduce((sum, c) => sum + c.plan.imageCount, 0);
  const committed: DatasetRecord[] = [];
  let doneBefore = 0;
  let bytesBefore = 0;
  try {
    for (const { plan, options } of chosen) {
      const onProgress = control.onProgress;
      const record = await commitImport(db, plan, options, {
        ...control,
        onProgress:
          onProgress &&
          ((p) => {
            const done = doneBefore + p.done;
            onProgress({
              done,
              total,
              bytes: bytesBefore + p.bytes,
              filesPerSecond: p.filesPerSecond,
              etaSeconds: p.filesPerSecond > 0 ? (total - done) / p.filesPerSecond : 0,
            });
          }),
      });
      committed.push(record);
      doneBefore += record.imageCount;
      bytesBefore += record.bytes;
    }
  } catch (e) {
    for (const record of committed) await deleteDataset(db, record.id);
    throw e;
  }
  return committed;
}

function fromMessage(m: UserMessage): DearliError {
  return new DearliError(m.code, m.problem, m.fix, m.file);
}

/** 128 random bits in hex; crypto.randomUUID would need a secure context (the lab may be served over plain http on a LAN). */
function newDatasetId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function writeDataset(
  db: DearliDB,
  id: string,
  plan: ImportPlan,
  options: CommitOptions,
  control: CommitControl,
): Promise<DatasetRecord> {
  const keepMasks = options.role !== 'unlabeled';
  const total = plan.images.length;
  const batchSize = control.batchSize ?? 16;
  const meter = progressMeter(total, control.onProgress);
  let done = 0;
  let bytes = 0;
  let began = false;
  let current = '';
  try {
    await beginDataset(db, {
      id,
      name: options.name,
      role: options.role,
      layout: plan.layout,
      categories: keepMasks ? plan.categories : [],
      imageCount: total,
      labeledCount: 0,
      bytes: 0,
      createdAt: Date.now(),
      annotationFile: plan.annotationFile,
    });
    began = true;
    let batch: ImageRecord[] = [];
    let batchBytes = 0;
    for (const [index, image] of plan.images.entries()) {
      throwIfAborted(control.signal);
      current = image.path;
      const record = await imageRecord(id, index, image, keepMasks);
      batch.push(record);
      batchBytes += record.bytes;
      if (batch.length >= batchSize || batchBytes >= BATCH_BYTES || index === total - 1) {
        await putImages(db, batch);
        done += batch.length;
        bytes += batchBytes;
        batch = [];
        batchBytes = 0;
        meter(done, bytes);
      }
    }
    throwIfAborted(control.signal);
    const labeledCount = keepMasks ? plan.labeledCount : 0;
    return await markCommitted(db, id, { imageCount: total, labeledCount, bytes });
  } catch (e) {
    if (began) await discardDataset(db, id);
    if (isQuotaError(e)) throw problems.storageFull(done, total);
    throw asFileProblem(e, current);
  }
}

async function imageRecord(
  datasetId: string,
  index: number,
  image: PlannedImage,
  keepMasks: boolean,
): Promise<ImageRecord> {
  const source = await readBlob(image.source);
  // Re-typing by content costs nothing (a slice shares the bytes) and lets pages show the Blob directly.
  const blob = source.slice(0, source.size, MIME[image.type]);
  const record: ImageRecord = {
    id: imageId(datasetId, index),
    datasetId,
    index,
    fileName: image.fileName,
    type: image.type,
    width: image.width,
    height: image.height,
    bytes: blob.size,
    blob,
  };
  if (image.sourceImageId !== undefined) record.sourceImageId = image.sourceImageId;
  if (keepMasks && image.mask) {
    const mask = await readBlob(image.mask.source);
    // Stored masks are always 8-bit RGB, so every reader (viewer, evaluator) needs one decoder only.
    record.mask = image.mask.canonical
      ? mask.slice(0, mask.size, 'image/png')
      : await reencodeAsRgb(mask, image.mask.path);
    record.segments = image.mask.segments;
    record.bytes += record.mask.size;
  }
  const thumbnail = await makeThumbnail(blob, image.path);
  if (thumbnail) record.thumbnail = thumbnail;
  return record;
}

async function reencodeAsRgb(mask: Blob, file: string): Promise<Blob> {
  const { ids, width, height } = decodeMaskPng(new Uint8Array(await mask.arrayBuffer()), file);
  return new Blob([encodeIdPng(ids, width, height) as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}

/**
 * A small JPEG of the image where the platform can draw one (page or worker); undefined in Node,
 * and for an image no larger than a thumbnail, which is shown itself (the image is still decoded:
 * that is the check that the browser can). Drawing and encoding such a thumbnail, and storing it
 * as one more IndexedDB file, took about a third of the commit of 64 px images.
 */
async function makeThumbnail(blob: Blob, file: string): Promise<Blob | undefined> {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas === 'undefined') return undefined;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw problems.corruptImage(file, 'the browser cannot decode it');
  }
  if (Math.max(bitmap.width, bitmap.height) <= THUMBNAIL_SIDE) {
    bitmap.close();
    return undefined;
  }
  const scale = THUMBNAIL_SIDE / Math.max(bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(
    Math.max(1, Math.round(bitmap.width * scale)),
    Math.max(1, Math.round(bitmap.height * scale)),
  );
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
}

function isQuotaError(e: unknown): boolean {
  return (e as { name?: unknown } | null)?.name === 'QuotaExceededError';
}

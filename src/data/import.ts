/**
 * Import in two steps. `planImport` reads what the user dropped (folders, files, .zip), detects
 * the layout, checks every image and mask, and returns a plan to show before anything is written.
 * `commitImport` writes a plan to IndexedDB in small batches, one image in memory at a time, and
 * either commits the whole dataset or leaves the store as it was (cancel, error, full quota).
 */
import { DearliError } from '../core/errors';
import { decodeMaskPng, encodeIdPng } from './decode';
import { checkImage } from './validate';
import { baseName, expandZips, isZip, readBlob, readJson, stem } from './files';
import { cocoLayout, isInstancesJson, isPanopticJson } from './layouts/coco';
import { findSimpleRoot, simpleLayout } from './layouts/simple';
import { relativeToRoot, scanFiles, type FileScan, type LayoutResult } from './layouts/scan';
import { asFileProblem, problems } from './problems';
import {
  beginDataset,
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
import type { DatasetRole, ImportFile, ImportPlan, ImportPlanSummary, ImportProgress, PlannedImage } from './types';

export interface PlanOptions {
  /** The role the user intends; when given, role-specific problems are reported in the plan. */
  role?: DatasetRole;
  /** Which panoptic JSON to use when several were dropped (its path as listed in `annotationFiles`). */
  annotationFile?: string;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}

/** More problems than this are summarised in one last message instead of listed. */
const MAX_LISTED_PROBLEMS = 50;
/** JSON files read when looking for panoptic annotations; with more, only '*panoptic*.json' are read. */
const MAX_JSON_CANDIDATES = 8;

export async function planImport(files: ImportFile[], options: PlanOptions = {}): Promise<ImportPlan> {
  const errors: DearliError[] = [];
  const notices: DearliError[] = [];
  let expanded: ImportFile[];
  try {
    expanded = await expandZips(files);
  } catch (e) {
    return emptyPlan(files, [asFileProblem(e, files.find((f) => isZip(f.path))?.path ?? '')]);
  }
  const scan = scanFiles(expanded);
  errors.push(...scan.errors);
  const layout = await detectLayout(scan, options.annotationFile);
  errors.push(...layout.errors);
  notices.push(...layout.notices);

  const planned = new Set(layout.images.map((i) => i.path));
  const unused = scan.images.filter((f) => !planned.has(f.path) && !layout.used.has(f.path)).map((f) => f.path);
  if (unused.length && layout.layout !== 'unlabeled') notices.push(problems.unusedImages(unused.length, unused.slice(0, 3)));
  const skipped = [...scan.skipped, ...scan.jsons.filter((f) => !layout.used.has(f.path)).map((f) => f.path)];
  if (skipped.length) notices.push(problems.skippedFiles(skipped.length, skipped.slice(0, 3)));
  if (layout.images.length === 0 && errors.length === 0) errors.push(problems.emptyImport(files.length === 1 ? files[0].path : 'what was dropped'));

  const images: PlannedImage[] = [];
  const meter = progressMeter(layout.images.length, options.onProgress);
  let bytes = 0;
  for (const [i, image] of layout.images.entries()) {
    throwIfAborted(options.signal);
    const checked = await checkImage(image, layout.categories);
    errors.push(...checked.errors);
    if (checked.planned) images.push(checked.planned);
    bytes += image.file.size + (image.mask?.file.size ?? 0);
    meter(i + 1, bytes);
  }

  const labeled = layout.layout !== 'unlabeled';
  const jsonName = layout.annotationFile ? stem(layout.annotationFile) : '';
  const suggestedRole: DatasetRole = !labeled ? 'unlabeled' : /val/i.test(jsonName) ? 'validation' : 'labeled';
  const plan: ImportPlan = {
    layout: layout.layout,
    suggestedName: suggestName(scan, files, jsonName),
    suggestedRole,
    imageCount: images.length,
    labeledCount: images.filter((i) => i.mask).length,
    bytes: images.reduce((sum, i) => sum + i.bytes + (i.mask?.source.size ?? 0), 0),
    categories: layout.categories,
    annotationFile: layout.annotationFile,
    annotationFiles: layout.annotationFiles,
    notices: notices.map((n) => n.toJSON()),
    errors: capProblems(errors).map((e) => e.toJSON()),
    images,
  };
  if (options.role) applyRole(plan, options.role);
  return plan;
}

/** Checks a plan against the role chosen for it; an unlabeled import drops masks. */
function applyRole(plan: ImportPlan, role: DatasetRole): void {
  if (role === 'unlabeled') {
    if (plan.labeledCount > 0) {
      plan.notices.push(problems.masksIgnored(plan.labeledCount).toJSON());
    }
  } else if (plan.layout === 'unlabeled' && plan.imageCount > 0) {
    plan.errors.push(problems.needsLabels(role).toJSON());
  }
}

async function detectLayout(scan: FileScan, annotationFile: string | undefined): Promise<LayoutResult> {
  const errors: DearliError[] = [];
  const notices: DearliError[] = [];
  const otherJsons = scan.jsons.filter((f) => baseName(f.path) !== 'categories.json');
  const candidates = otherJsons.length <= MAX_JSON_CANDIDATES ? otherJsons : otherJsons.filter((f) => /panoptic/i.test(baseName(f.path)));
  const panoptic: { path: string; json: unknown }[] = [];
  for (const f of candidates) {
    if (annotationFile && f.path !== annotationFile) continue;
    try {
      const json = await readJson(f.file, f.path);
      if (isPanopticJson(json)) panoptic.push({ path: f.path, json });
      else if (isInstancesJson(json)) notices.push(problems.instancesJson(f.path));
    } catch (e) {
      errors.push(asFileProblem(e, f.path));
    }
  }
  if (annotationFile && !scan.byPath.has(annotationFile)) errors.push(problems.missingAnnotationFile(annotationFile));
  const annotationFiles = candidates.filter((f) => panoptic.some((p) => p.path === f.path)).map((f) => f.path);
  const withErrors = (result: LayoutResult): LayoutResult => ({ ...result, errors: [...errors, ...result.errors], notices: [...notices, ...result.notices] });
  if (panoptic.length > 1) {
    return withErrors({ ...unlabeledResult(scan), layout: 'coco-panoptic', images: [], annotationFiles, errors: [problems.severalAnnotationFiles(annotationFiles)] });
  }
  if (panoptic.length === 1) return withErrors(cocoLayout(scan, panoptic[0].path, panoptic[0].json, annotationFiles));
  const simpleRoot = findSimpleRoot(scan);
  if (simpleRoot !== undefined) {
    const path = simpleRoot ? `${simpleRoot}/categories.json` : 'categories.json';
    try {
      const json = await readJson(scan.byPath.get(path)!.file, path);
      return withErrors(simpleLayout(scan, simpleRoot, json));
    } catch (e) {
      return withErrors({ ...unlabeledResult(scan), layout: 'simple', images: [], errors: [asFileProblem(e, path)] });
    }
  }
  return withErrors(unlabeledResult(scan));
}

/** Any folder of images: every PNG, JPEG and WebP file, without labels. */
function unlabeledResult(scan: FileScan): LayoutResult {
  return {
    layout: 'unlabeled',
    categories: [],
    images: scan.images.map((f) => ({ path: f.path, file: f.file, fileName: relativeToRoot(scan, f.path) })),
    annotationFiles: [],
    notices: [],
    errors: [],
    used: new Set(),
  };
}

function suggestName(scan: FileScan, files: ImportFile[], jsonName: string): string {
  const base = scan.root || (files.length === 1 ? stem(files[0].path) : '') || 'Imported dataset';
  return jsonName && !base.includes(jsonName) ? `${base} (${jsonName})` : base;
}

function emptyPlan(files: ImportFile[], errors: DearliError[]): ImportPlan {
  return {
    layout: 'unlabeled',
    suggestedName: files.length === 1 ? stem(files[0].path) : 'Imported dataset',
    suggestedRole: 'unlabeled',
    imageCount: 0,
    labeledCount: 0,
    bytes: 0,
    categories: [],
    annotationFiles: [],
    notices: [],
    errors: errors.map((e) => e.toJSON()),
    images: [],
  };
}

function capProblems(errors: DearliError[]): DearliError[] {
  if (errors.length <= MAX_LISTED_PROBLEMS) return errors;
  const rest = errors.length - MAX_LISTED_PROBLEMS;
  return [...errors.slice(0, MAX_LISTED_PROBLEMS), new DearliError('more-problems', `${rest} more problems are not listed.`, 'Fix the problems above and scan again to see the rest.')];
}

/** What the UI shows of a plan: everything except the files, safe to post across a worker boundary. */
export function summarizePlan(plan: ImportPlan): ImportPlanSummary {
  const { images: _files, ...summary } = plan;
  return summary;
}

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
export async function commitImport(db: DearliDB, plan: ImportPlan, options: CommitOptions, control: CommitControl = {}): Promise<DatasetRecord> {
  if (plan.errors.length) {
    const first = plan.errors[0];
    throw new DearliError(first.code, first.problem, first.fix, first.file);
  }
  if (options.role !== 'unlabeled' && plan.labeledCount === 0) throw problems.needsLabels(options.role);
  throwIfAborted(control.signal);
  // Refuse up front what clearly cannot fit; the estimate is approximate, so a quota error can still come later.
  const estimate = await storageEstimate();
  if (estimate && estimate.quota > 0 && plan.bytes > estimate.quota - estimate.usage) throw problems.notEnoughStorage(plan.bytes, estimate.quota - estimate.usage);
  const id = newDatasetId();
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  const write = () => writeDataset(db, id, plan, options, control);
  // The lock tells other tabs' start-up sweep that this uncommitted dataset is still being written.
  return locks ? locks.request(importLockName(id), write) : write();
}

/** 128 random bits in hex; crypto.randomUUID would need a secure context (the lab may be served over plain http on a LAN). */
function newDatasetId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function writeDataset(db: DearliDB, id: string, plan: ImportPlan, options: CommitOptions, control: CommitControl): Promise<DatasetRecord> {
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

async function imageRecord(datasetId: string, index: number, image: PlannedImage, keepMasks: boolean): Promise<ImageRecord> {
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
    record.mask = image.mask.canonical ? mask.slice(0, mask.size, 'image/png') : await reencodeAsRgb(mask, image.mask.path);
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

/** A small JPEG of the image where the platform can draw one (page or worker); undefined in Node. */
async function makeThumbnail(blob: Blob, file: string): Promise<Blob | undefined> {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas === 'undefined') return undefined;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw problems.corruptImage(file, 'the browser cannot decode it');
  }
  const scale = Math.min(1, THUMBNAIL_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = new OffscreenCanvas(Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale)));
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
}

function isQuotaError(e: unknown): boolean {
  return (e as { name?: unknown } | null)?.name === 'QuotaExceededError';
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw problems.cancelled();
}

/** Progress events, at most ~10 a second plus the last one, with rate and remaining time. */
function progressMeter(total: number, onProgress: ((p: ImportProgress) => void) | undefined): (done: number, bytes: number) => void {
  const start = performance.now();
  let lastSent = -Infinity;
  return (done, bytes) => {
    if (!onProgress) return;
    const now = performance.now();
    if (done < total && now - lastSent < 100) return;
    lastSent = now;
    const seconds = Math.max((now - start) / 1000, 1e-3);
    const filesPerSecond = done / seconds;
    const etaSeconds = filesPerSecond > 0 ? (total - done) / filesPerSecond : 0;
    onProgress({ done, total, bytes, filesPerSecond, etaSeconds });
  };
}

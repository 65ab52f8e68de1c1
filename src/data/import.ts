/**
 * Import in two steps. `planImport` reads what the user dropped (folders, files, .zip), detects
 * the layout, checks every image and mask, and returns a plan to show before anything is written.
 * `commitImport` writes a plan to IndexedDB in small batches, one image in memory at a time, and
 * either commits the whole dataset or leaves the store as it was (cancel, error, full quota).
 */
import { DearliError, countOf, type UserMessage } from '../core/errors';
import { decodeMaskPng, encodeIdPng } from './decode';
import { checkImage } from './validate';
import { baseName, dirName, expandZips, isZip, normalizePath, readBlob, readJson, stem } from './files';
import { cocoLayout, isInstancesJson, isPanopticJson } from './layouts/coco';
import { findSimpleRoot, simpleLayout } from './layouts/simple';
import { relativeToRoot, scanFiles, type FileScan, type LayoutResult, type ScannedFile } from './layouts/scan';
import { asFileProblem, problems } from './problems';
import { promptNames, withCuratedSynonyms } from './vocabulary';
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
import type {
  DatasetRole,
  ImportFile,
  ImportPlan,
  ImportPlanSet,
  ImportPlanSummary,
  ImportProgress,
  PlannedImage,
} from './types';

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

/**
 * Plans one dataset from what was dropped. A folder with several panoptic JSONs (splits) is
 * refused unless `annotationFile` picks one; `planImports` plans every split instead.
 */
export async function planImport(files: ImportFile[], options: PlanOptions = {}): Promise<ImportPlan> {
  const drop = await readDrop(files);
  if (drop instanceof DearliError) return emptyPlan(files, [drop]);
  const found = await readAnnotationJsons(drop, options.annotationFile);
  const layouts = await detectLayouts(drop, found);
  const layout =
    layouts.length === 0
      ? refusedLayout()
      : layouts.length === 1
        ? layouts[0]
        : {
            ...refusedLayout(),
            layout: 'coco-panoptic' as const,
            annotationFiles: found.annotationFiles,
            errors: [problems.severalAnnotationFiles(found.annotationFiles)],
          };
  const plan = await checkLayout(
    drop,
    files,
    layout,
    jsonSplitName(layout),
    progressTicker(layout.images.length, options.onProgress),
    options.signal,
  );
  const messages = dropMessages(drop, files, found, [layout]);
  const unused = leftoverImages(drop, [layout]).map((f) => f.path);
  if (unused.length && layout.layout !== 'unlabeled')
    messages.notices.push(problems.unusedImages(unused.length, unused.slice(0, 3)).toJSON());
  plan.errors = capProblems([...messages.errors, ...plan.errors]);
  plan.notices = [...messages.notices, ...plan.notices];
  if (options.role) applyRole(plan, options.role);
  return plan;
}

/**
 * Plans every dataset in what was dropped: one per panoptic JSON (a COCO folder with train and
 * val splits makes two), or the one simple or unlabeled dataset, plus an unlabeled dataset of the
 * images that no labeled split uses (mask PNGs never count as such images). Each split has its
 * own role proposal; `commitImports` writes the chosen ones together or none.
 */
export async function planImports(
  files: ImportFile[],
  options: Pick<PlanOptions, 'signal' | 'onProgress'> = {},
): Promise<ImportPlanSet> {
  const drop = await readDrop(files);
  if (drop instanceof DearliError) return { splits: [], errors: [drop.toJSON()], notices: [] };
  const found = await readAnnotationJsons(drop, undefined);
  const layouts = await detectLayouts(drop, found);
  const leftover = leftoverImages(drop, layouts);
  const named = layouts.map((layout) => ({ layout, name: jsonSplitName(layout) }));
  if (leftover.length && layouts.some((l) => l.layout !== 'unlabeled'))
    named.push({ layout: unlabeledResult(drop, leftover), name: commonFolder(drop, leftover) });
  const tick = progressTicker(
    named.reduce((sum, n) => sum + n.layout.images.length, 0),
    options.onProgress,
  );
  const splits: ImportPlan[] = [];
  for (const { layout, name } of named) splits.push(await checkLayout(drop, files, layout, name, tick, options.signal));
  const messages = dropMessages(
    drop,
    files,
    found,
    named.map((n) => n.layout),
  );
  for (const split of splits) split.errors = capProblems(split.errors);
  return { splits, errors: capProblems(messages.errors), notices: messages.notices };
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

/** Expands zips and sorts the files; a zip that cannot be read ends the plan. */
async function readDrop(files: ImportFile[]): Promise<FileScan | DearliError> {
  try {
    return scanFiles(await expandZips(files));
  } catch (e) {
    return asFileProblem(e, files.find((f) => isZip(f.path))?.path ?? '');
  }
}

interface AnnotationJsons {
  panoptic: { path: string; json: unknown }[];
  /** Every panoptic JSON's path, in the order found. */
  annotationFiles: string[];
  errors: DearliError[];
  notices: DearliError[];
  /** JSON files already reported (unreadable, instances): not listed again as skipped. */
  reported: Set<string>;
}

async function readAnnotationJsons(scan: FileScan, annotationFile: string | undefined): Promise<AnnotationJsons> {
  const found: AnnotationJsons = { panoptic: [], annotationFiles: [], errors: [], notices: [], reported: new Set() };
  const otherJsons = scan.jsons.filter((f) => baseName(f.path) !== 'categories.json');
  const candidates =
    otherJsons.length <= MAX_JSON_CANDIDATES
      ? otherJsons
      : otherJsons.filter((f) => /panoptic/i.test(baseName(f.path)));
  for (const f of candidates) {
    if (annotationFile && f.path !== annotationFile) continue;
    try {
      const json = await readJson(f.file, f.path);
      if (isPanopticJson(json)) found.panoptic.push({ path: f.path, json });
      else if (isInstancesJson(json)) {
        found.notices.push(problems.instancesJson(f.path));
        found.reported.add(f.path);
      }
    } catch (e) {
      found.errors.push(asFileProblem(e, f.path));
      found.reported.add(f.path);
    }
  }
  if (annotationFile && !scan.byPath.has(annotationFile))
    found.errors.push(problems.missingAnnotationFile(annotationFile));
  found.annotationFiles = found.panoptic.map((p) => p.path);
  return found;
}

/**
 * The layouts in the files: one per panoptic JSON, else the simple layout, else a folder of
 * unlabeled images. None when a JSON could not be read: what it was meant to be is unknown, so
 * its images are not offered as unlabeled ones.
 */
async function detectLayouts(scan: FileScan, found: AnnotationJsons): Promise<LayoutResult[]> {
  if (found.errors.length) return [];
  if (found.panoptic.length) return found.panoptic.map((p) => cocoLayout(scan, p.path, p.json, found.annotationFiles));
  const simpleRoot = findSimpleRoot(scan);
  if (simpleRoot === undefined) return [unlabeledResult(scan, scan.images)];
  const path = simpleRoot ? `${simpleRoot}/categories.json` : 'categories.json';
  try {
    const json = await readJson(scan.byPath.get(path)!.file, path);
    return [simpleLayout(scan, simpleRoot, json)];
  } catch (e) {
    return [{ ...refusedLayout(), layout: 'simple', errors: [asFileProblem(e, path)], used: new Set([path]) }];
  }
}

/**
 * Images of the files that no layout uses, leaving out anything in a folder named like a JSON
 * beside it: by COCO convention that folder holds the JSON's masks, even when the JSON is not the
 * one imported. None while a layout has problems: the files it could not place may be its masks.
 */
function leftoverImages(scan: FileScan, layouts: LayoutResult[]): ScannedFile[] {
  if (layouts.some((l) => l.errors.length)) return [];
  const taken = new Set(layouts.flatMap((l) => [...l.images.map((i) => i.path), ...l.used]));
  const maskFolders = scan.jsons.map((f) =>
    dirName(f.path) ? `${dirName(f.path)}/${stem(f.path)}/` : `${stem(f.path)}/`,
  );
  return scan.images.filter((f) => !taken.has(f.path) && !maskFolders.some((folder) => f.path.startsWith(folder)));
}

/** Problems of the drop as a whole: unreadable or duplicate files, nothing to import, skipped files. */
function dropMessages(
  scan: FileScan,
  files: ImportFile[],
  found: AnnotationJsons,
  layouts: LayoutResult[],
): { errors: UserMessage[]; notices: UserMessage[] } {
  const errors = [...scan.errors, ...found.errors];
  const used = new Set(layouts.flatMap((l) => [...l.used]));
  const skipped = [
    ...scan.skipped,
    ...scan.jsons.filter((f) => !used.has(f.path) && !found.reported.has(f.path)).map((f) => f.path),
  ];
  const notices = [...found.notices];
  if (skipped.length) notices.push(problems.skippedFiles(skipped.length, skipped.slice(0, 3)));
  const nothingFound = layouts.every((l) => l.images.length === 0 && l.errors.length === 0);
  if (nothingFound && errors.length === 0) {
    if (scan.root) errors.push(problems.emptyFolder(scan.root, scan.byPath.size));
    else errors.push(problems.noImages(files.length === 1 ? normalizePath(files[0].path) : undefined));
  }
  return { errors: errors.map((e) => e.toJSON()), notices: notices.map((n) => n.toJSON()) };
}

/** Checks every image and mask of a layout and returns its plan (the layout's own problems included). */
async function checkLayout(
  scan: FileScan,
  files: ImportFile[],
  layout: LayoutResult,
  splitName: string,
  tick: (bytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<ImportPlan> {
  const errors = [...layout.errors];
  const notices = [...layout.notices];
  const { categories, vocabulary } = withCuratedSynonyms(layout.categories);
  if (vocabulary)
    notices.push(
      problems.curatedVocabulary(
        vocabulary.name,
        categories.length,
        categories.reduce((n, c) => n + promptNames(c).length, 0),
      ),
    );
  const images: PlannedImage[] = [];
  for (const image of layout.images) {
    throwIfAborted(signal);
    const checked = await checkImage(image, categories);
    errors.push(...checked.errors);
    if (checked.planned) images.push(checked.planned);
    tick(image.file.size + (image.mask?.file.size ?? 0));
  }
  const labeled = layout.layout !== 'unlabeled';
  return {
    layout: layout.layout,
    suggestedName: suggestName(scan, files, splitName),
    suggestedRole: !labeled ? 'unlabeled' : /val/i.test(splitName) ? 'validation' : 'labeled',
    imageCount: images.length,
    labeledCount: images.filter((i) => i.mask).length,
    bytes: images.reduce((sum, i) => sum + i.bytes + (i.mask?.source.size ?? 0), 0),
    categories,
    annotationFile: layout.annotationFile,
    annotationFiles: layout.annotationFiles,
    notices: notices.map((n) => n.toJSON()),
    errors: errors.map((e) => e.toJSON()),
    images,
  };
}

/** The split a COCO layout's JSON names (panoptic_val2017), '' for other layouts. */
function jsonSplitName(layout: LayoutResult): string {
  return layout.annotationFile ? stem(layout.annotationFile) : '';
}

/** The folder below the root that holds all of these files ('' when they are spread out). */
function commonFolder(scan: FileScan, files: ScannedFile[]): string {
  const folders = new Set(files.map((f) => dirName(relativeToRoot(scan, f.path)).split('/')[0]));
  return folders.size === 1 ? [...folders][0] : 'other images';
}

/** Images of the files, without labels: a folder of photos, or what labeled splits left over. */
function unlabeledResult(scan: FileScan, images: ScannedFile[]): LayoutResult {
  return {
    ...refusedLayout(),
    images: images.map((f) => ({ path: f.path, file: f.file, fileName: relativeToRoot(scan, f.path) })),
    used: new Set(images.map((f) => f.path)),
  };
}

/** A layout with nothing to import, for the cases that end in an error. */
function refusedLayout(): LayoutResult {
  return {
    layout: 'unlabeled',
    categories: [],
    images: [],
    annotationFiles: [],
    notices: [],
    errors: [],
    used: new Set(),
  };
}

function suggestName(scan: FileScan, files: ImportFile[], splitName: string): string {
  const base = scan.root || (files.length === 1 ? stem(files[0].path) : '') || 'Imported dataset';
  return splitName && !base.includes(splitName) ? `${base} (${splitName})` : base;
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

function capProblems(errors: UserMessage[]): UserMessage[] {
  if (errors.length <= MAX_LISTED_PROBLEMS) return errors;
  const rest = errors.length - MAX_LISTED_PROBLEMS;
  return [
    ...errors.slice(0, MAX_LISTED_PROBLEMS),
    new DearliError(
      'more-problems',
      `${countOf(rest, 'more problem')} ${rest === 1 ? 'is' : 'are'} not listed.`,
      'Fix the problems above and scan again to see the rest.',
    ).toJSON(),
  ];
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

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw problems.cancelled();
}

/** Progress counted one image at a time. */
function progressTicker(total: number, onProgress: ((p: ImportProgress) => void) | undefined): (bytes: number) => void {
  const meter = progressMeter(total, onProgress);
  let done = 0;
  let bytes = 0;
  return (more) => meter(++done, (bytes += more));
}

/** Progress events, at most ~10 a second plus the last one, with rate and remaining time. */
function progressMeter(
  total: number,
  onProgress: ((p: ImportProgress) => void) | undefined,
): (done: number, bytes: number) => void {
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

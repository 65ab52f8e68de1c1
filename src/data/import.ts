/**
 * Import in two steps. `planImport` reads what the user dropped (folders, files, .zip), detects
 * the layout, checks every image and mask, and returns a plan to show before anything is written.
 * `commitImport` (importCommit.ts) then writes the plan.
 */
import { DearliError, countOf, type UserMessage } from '../core/errors';
import { checkImage } from './validate';
import { baseName, dirName, expandZips, isZip, normalizePath, readJson, stem } from './files';
import { progressTicker, throwIfAborted } from './importProgress';
import { cocoLayout, isInstancesJson, isPanopticJson } from './layouts/coco';
import { findSimpleRoot, simpleLayout } from './layouts/simple';
import { relativeToRoot, scanFiles, type FileScan, type LayoutResult, type ScannedFile } from './layouts/scan';
import { asFileProblem, problems } from './problems';
import { promptNames, withCuratedSynonyms } from './vocabulary';
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
  /** The panoptic JSONs read, parsed; detectLayouts takes them out. */
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
  // The layouts copy what they use, so the parsed JSONs (O(images), the largest thing planning
  // would otherwise hold while it checks every image) are let go here.
  const panoptic = found.panoptic.splice(0);
  if (panoptic.length) return panoptic.map((p) => cocoLayout(scan, p.path, p.json, found.annotationFiles));
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

/**
 * The first pass over what the user dropped: normalised paths, files sorted into images, JSON and
 * the rest, and what every layout needs to know (common root folder, duplicates, lookups).
 */
import type { Category, SegmentInfo } from '../../core/panoptic';
import type { DearliError } from '../../core/errors';
import { extension, isSystemFile, normalizePath } from '../files';
import { problems } from '../problems';
import { splitClassNames } from '../vocabulary';
import type { ImportFile, LayoutKind, LazyFile } from '../types';

export interface ScannedFile {
  path: string;
  file: Blob | LazyFile;
}

const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'webp']);

export interface FileScan {
  /** The first folder every path shares ('' when there is none): the dataset's name and the base of stored file names. */
  root: string;
  images: ScannedFile[];
  jsons: ScannedFile[];
  /** Files that are neither images nor JSON (skipped with a notice). */
  skipped: string[];
  byPath: Map<string, ScannedFile>;
  errors: DearliError[];
}

export function scanFiles(files: ImportFile[]): FileScan {
  const byPath = new Map<string, ScannedFile>();
  const errors: DearliError[] = [];
  for (const f of files) {
    const path = normalizePath(f.path);
    if (!path || isSystemFile(path)) continue;
    if (byPath.has(path)) {
      errors.push(problems.duplicatePath(path));
      continue;
    }
    byPath.set(path, { path, file: f.file });
  }
  const all = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const firstSegments = new Set(all.map((f) => (f.path.includes('/') ? f.path.slice(0, f.path.indexOf('/')) : '')));
  const root = firstSegments.size === 1 ? [...firstSegments][0] : '';
  const images: ScannedFile[] = [];
  const jsons: ScannedFile[] = [];
  const skipped: string[] = [];
  for (const f of all) {
    const ext = extension(f.path);
    if (IMAGE_EXTENSIONS.has(ext)) images.push(f);
    else if (ext === 'json') jsons.push(f);
    else skipped.push(f.path);
  }
  return { root, images, jsons, skipped, byPath, errors };
}

/** A path below the dataset root, as stored with the image. */
export function relativeToRoot(scan: FileScan, path: string): string {
  return scan.root && path.startsWith(`${scan.root}/`) ? path.slice(scan.root.length + 1) : path;
}

/** An image the layout found, before its bytes are checked. */
export interface LayoutImage {
  path: string;
  file: Blob | LazyFile;
  fileName: string;
  sourceImageId?: number | string;
  mask?: {
    path: string;
    file: Blob | LazyFile;
    /** The annotation's segments (COCO); absent when they are derived from the mask (simple layout). */
    declared?: SegmentInfo[];
  };
}

/** What a layout makes of the files: images to check, categories and what to tell the user. */
export interface LayoutResult {
  layout: LayoutKind;
  categories: Category[];
  images: LayoutImage[];
  annotationFile?: string;
  annotationFiles: string[];
  notices: DearliError[];
  errors: DearliError[];
  /** Files the layout used besides images (JSON, masks), so they are not reported as unused. */
  used: Set<string>;
}

/** Parses a categories list (COCO or categories.json), checking ids, names and isthing. */
export function parseCategories(raw: unknown, file: string): Category[] {
  if (!Array.isArray(raw)) throw problems.badCategories(file, 'expected an array of categories');
  const seen = new Set<number>();
  return raw.map((c: unknown, i) => {
    const entry = c as Record<string, unknown> | null;
    const at = `entry ${i}`;
    if (typeof entry !== 'object' || entry === null) throw problems.badCategories(file, `${at} is not an object`);
    const { id, name, isthing, color, synonyms } = entry;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
      throw problems.badCategories(file, `${at} has id ${JSON.stringify(id)}, not a non-negative integer`);
    if (seen.has(id)) throw problems.badCategories(file, `category id ${id} appears twice`);
    seen.add(id);
    if (typeof name !== 'string' || !name) throw problems.badCategories(file, `category ${id} has no name`);
    if (isthing !== 0 && isthing !== 1 && isthing !== true && isthing !== false)
      throw problems.badCategories(file, `category ${id} (${name}) has no isthing (0 or 1)`);
    const category: Category = { id, name, isthing: isthing === 1 || isthing === true };
    if (Array.isArray(color) && color.length === 3 && color.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
      category.color = [color[0], color[1], color[2]];
    }
    // A categories.json lists synonyms besides the name; the stored list holds them all, the name first.
    if (Array.isArray(synonyms) && synonyms.every((s) => typeof s === 'string'))
      category.synonyms = splitClassNames([name, ...synonyms]);
    return category;
  });
}

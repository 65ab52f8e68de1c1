/**
 * Simple layout: `categories.json`, `images/` and `panoptic/` side by side. A mask has its
 * image's path below images/ with the extension .png. There is no segments_info: each mask id
 * encodes its category as id = category_id × 1000 + instance (the Cityscapes/Detectron2
 * convention), so segments are derived from the mask itself.
 */
import type { DearliError } from '../../core/errors';
import { baseName, dirName, extension } from '../files';
import { problems } from '../problems';
import { parseCategories, type FileScan, type LayoutImage, type LayoutResult } from './scan';

/** Divides a simple-layout id into category (id / 1000) and instance (id % 1000). */
export const SIMPLE_LABEL_DIVISOR = 1000;

/** The folder holding categories.json next to images/ and panoptic/, if the files have one. */
export function findSimpleRoot(scan: FileScan): string | undefined {
  for (const json of scan.jsons) {
    if (baseName(json.path) !== 'categories.json') continue;
    const dir = dirName(json.path);
    const prefix = dir ? `${dir}/` : '';
    const hasImages = scan.images.some((f) => f.path.startsWith(`${prefix}images/`));
    const hasMasks = scan.images.some((f) => f.path.startsWith(`${prefix}panoptic/`));
    if (hasImages && hasMasks) return dir;
  }
  return undefined;
}

export function simpleLayout(scan: FileScan, dir: string, categoriesJson: unknown): LayoutResult {
  const prefix = dir ? `${dir}/` : '';
  const categoriesPath = `${prefix}categories.json`;
  const errors: DearliError[] = [];
  const notices: DearliError[] = [];
  const used = new Set<string>([categoriesPath]);
  const result: LayoutResult = {
    layout: 'simple',
    categories: [],
    images: [],
    annotationFiles: [],
    notices,
    errors,
    used,
  };
  try {
    const raw = Array.isArray(categoriesJson)
      ? categoriesJson
      : (categoriesJson as { categories?: unknown } | null)?.categories;
    result.categories = parseCategories(raw, categoriesPath);
  } catch (e) {
    errors.push(e as DearliError);
    return result;
  }
  const imagesDir = `${prefix}images/`;
  const masksDir = `${prefix}panoptic/`;
  const masks = new Map(
    scan.images.filter((f) => f.path.startsWith(masksDir)).map((f) => [f.path.slice(masksDir.length), f]),
  );
  const byStem = new Map<string, string>();
  let withoutMask = 0;
  for (const image of scan.images.filter((f) => f.path.startsWith(imagesDir))) {
    const relative = image.path.slice(imagesDir.length);
    const relativeStem = relative.slice(0, relative.length - extension(relative).length - 1);
    const other = byStem.get(relativeStem);
    if (other) {
      errors.push(problems.duplicateStem(image.path, other));
      continue;
    }
    byStem.set(relativeStem, image.path);
    const mask =
      masks.get(`${relativeStem}.png`) ?? masks.get(`${relativeStem}.jpg`) ?? masks.get(`${relativeStem}.jpeg`);
    if (!mask) {
      withoutMask++;
      continue;
    }
    used.add(mask.path);
    const planned: LayoutImage = {
      path: image.path,
      file: image.file,
      fileName: relative,
      mask: { path: mask.path, file: mask.file },
    };
    result.images.push(planned);
  }
  if (withoutMask) notices.push(problems.imagesWithoutMask(withoutMask, masksDir));
  return result;
}

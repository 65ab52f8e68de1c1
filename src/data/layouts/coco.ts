/**
 * COCO panoptic layout: a panoptic JSON (images, annotations with segments_info, categories), a
 * folder of panoptic PNGs and a folder of images, found by file name wherever they were dropped.
 * By COCO convention the PNG folder is named after the JSON (panoptic_train2017.json →
 * panoptic_train2017/); failing that, a folder named like 'panoptic' or 'mask' is taken, then the
 * folder holding most of the listed PNGs.
 */
import type { DearliError } from '../../core/errors';
import type { SegmentInfo } from '../../core/panoptic';
import { baseName, stem } from '../files';
import { problems } from '../problems';
import { parseCategories, type FileScan, type LayoutImage, type LayoutResult, type ScannedFile } from './scan';

interface CocoImage {
  id: number | string;
  file_name: string;
}

interface CocoAnnotation {
  image_id: number | string;
  file_name: string;
  segments_info: SegmentInfo[];
}

/**
 * Whether parsed JSON is meant as a panoptic annotation file: annotations with segments_info (or
 * none yet, beside images or categories). Categories are not required here: a panoptic file that
 * lacks them is a COCO import to refuse with that reason, not a folder of unlabeled images.
 */
export function isPanopticJson(json: unknown): boolean {
  const o = json as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.annotations)) return false;
  const first = o.annotations[0] as Record<string, unknown> | undefined;
  return first === undefined
    ? Array.isArray(o.images) || Array.isArray(o.categories)
    : Array.isArray(first?.segments_info);
}

/** Whether parsed JSON is a COCO instances (detection) file: annotations with polygons or RLE, no segments_info. */
export function isInstancesJson(json: unknown): boolean {
  const o = json as { annotations?: unknown } | null;
  const first = Array.isArray(o?.annotations) ? (o.annotations[0] as Record<string, unknown> | undefined) : undefined;
  return first !== undefined && 'segmentation' in first && !('segments_info' in first);
}

export function cocoLayout(scan: FileScan, jsonPath: string, json: unknown, annotationFiles: string[]): LayoutResult {
  const errors: DearliError[] = [];
  const notices: DearliError[] = [];
  const used = new Set<string>([jsonPath]);
  const result: LayoutResult = {
    layout: 'coco-panoptic',
    categories: [],
    images: [],
    annotationFile: jsonPath,
    annotationFiles,
    notices,
    errors,
    used,
  };
  const o = json as { images?: unknown; annotations: unknown[]; categories?: unknown };
  // Without usable categories the split is refused, but its images and masks are still located
  // so that they are not mistaken for photos left over by the layout.
  let categoriesOk = false;
  try {
    if (o.categories === undefined) throw problems.missingCategories(jsonPath);
    result.categories = parseCategories(o.categories, jsonPath);
    categoriesOk = true;
  } catch (e) {
    errors.push(e as DearliError);
  }
  if (!Array.isArray(o.images)) {
    errors.push(problems.badAnnotationJson(jsonPath, '"images" is missing or not an array'));
    return result;
  }
  const images = readImages(o.images, jsonPath, errors);
  const annotations = readAnnotations(o.annotations, jsonPath, errors);
  const plannable = errors.length === 0;

  const categoryIds = new Set(result.categories.map((c) => c.id));
  // Images are found first, away from folders that look like mask folders, then masks among the
  // other files: PNG images and PNG masks may share names (the demo's do).
  const maskLike = (dir: string) =>
    baseName(dir) === stem(jsonPath) ? 2 : /panoptic|mask/i.test(baseName(dir)) ? 1 : 0;
  const imageFiles = locate(
    scan,
    images.map((i) => i.file_name),
    (dir) => -maskLike(dir),
    () => true,
  );
  const imagePaths = new Set(images.map((i) => imageFiles.find(i.file_name)?.path));
  const maskFiles = locate(
    scan,
    annotations.map((a) => a.file_name),
    maskLike,
    (path) => !imagePaths.has(path),
  );
  const annotationByImage = new Map<number | string, CocoAnnotation>();
  for (const a of annotations) annotationByImage.set(a.image_id, a);

  let unannotated = 0;
  for (const image of images) {
    const annotation = annotationByImage.get(image.id);
    if (!annotation) {
      unannotated++;
      continue;
    }
    const imageFile = imageFiles.find(image.file_name);
    const maskFile = maskFiles.find(annotation.file_name);
    if (!imageFile) errors.push(problems.missingImage(jsonPath, image.file_name));
    if (!maskFile) errors.push(problems.missingMask(jsonPath, annotation.file_name));
    const unknown = [
      ...new Set(annotation.segments_info.map((s) => s.category_id).filter((id) => !categoryIds.has(id))),
    ];
    if (categoriesOk && unknown.length)
      errors.push(problems.unknownCategory(`${jsonPath} (annotation of ${image.file_name})`, unknown));
    if (maskFile) used.add(maskFile.path);
    if (imageFile) used.add(imageFile.path);
    if (!imageFile || !maskFile || !plannable) continue;
    const planned: LayoutImage = {
      path: imageFile.path,
      file: imageFile.file,
      fileName: image.file_name,
      sourceImageId: image.id,
      mask: { path: maskFile.path, file: maskFile.file, declared: annotation.segments_info },
    };
    result.images.push(planned);
  }
  const imageIds = new Set(images.map((i) => i.id));
  for (const a of annotations)
    if (!imageIds.has(a.image_id))
      errors.push(
        problems.badAnnotationJson(
          jsonPath,
          `an annotation refers to image_id ${JSON.stringify(a.image_id)}, which "images" does not list`,
        ),
      );
  if (unannotated) notices.push(problems.unannotatedImages(jsonPath, unannotated));
  return result;
}

function readImages(raw: unknown[], file: string, errors: DearliError[]): CocoImage[] {
  const ids = new Set<number | string>();
  const names = new Set<string>();
  const out: CocoImage[] = [];
  for (const [i, entry] of raw.entries()) {
    const { id, file_name } = (entry ?? {}) as Record<string, unknown>;
    if ((typeof id !== 'number' && typeof id !== 'string') || typeof file_name !== 'string') {
      errors.push(problems.badAnnotationJson(file, `images[${i}] needs an id and a file_name`));
      continue;
    }
    if (ids.has(id)) errors.push(problems.duplicateImageId(file, 'image id', id));
    if (names.has(file_name)) errors.push(problems.duplicateImageId(file, 'image file_name', file_name));
    ids.add(id);
    names.add(file_name);
    out.push({ id, file_name });
  }
  return out;
}

function readAnnotations(raw: unknown[], file: string, errors: DearliError[]): CocoAnnotation[] {
  const imageIds = new Set<number | string>();
  const out: CocoAnnotation[] = [];
  for (const [i, entry] of raw.entries()) {
    const { image_id, file_name, segments_info } = (entry ?? {}) as Record<string, unknown>;
    if (
      (typeof image_id !== 'number' && typeof image_id !== 'string') ||
      typeof file_name !== 'string' ||
      !Array.isArray(segments_info)
    ) {
      errors.push(problems.badAnnotationJson(file, `annotations[${i}] needs image_id, file_name and segments_info`));
      continue;
    }
    if (imageIds.has(image_id)) errors.push(problems.duplicateImageId(file, 'annotation image_id', image_id));
    imageIds.add(image_id);
    const segments: SegmentInfo[] = [];
    const segmentIds = new Set<number>();
    for (const s of segments_info as Record<string, unknown>[]) {
      const { id, category_id, iscrowd } = s ?? {};
      if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || typeof category_id !== 'number') {
        errors.push(
          problems.badAnnotationJson(file, `a segment of ${file_name} needs a positive integer id and a category_id`),
        );
        continue;
      }
      if (segmentIds.has(id)) errors.push(problems.duplicateSegmentId(file, id, file_name));
      segmentIds.add(id);
      segments.push({ id, category_id, iscrowd: iscrowd === 1 ? 1 : 0 });
    }
    out.push({ image_id, file_name, segments_info: segments });
  }
  return out;
}

interface Located {
  find(fileName: string): ScannedFile | undefined;
}

/**
 * Finds the folder that holds the listed files: each name is matched as a path suffix, and the
 * folder with the highest preference wins, then the one with most matches, then the shorter path.
 * A file outside that folder is accepted when it is the only match in folders of the same
 * preference (Cityscapes keeps images in one folder per city), never from a less preferred folder:
 * a same-named file there is more likely the wrong file (a mask for an image) than the right one.
 */
function locate(
  scan: FileScan,
  names: string[],
  preference: (dir: string) => number,
  allowed: (path: string) => boolean,
): Located {
  const byBase = new Map<string, ScannedFile[]>();
  for (const f of scan.images) {
    if (!allowed(f.path)) continue;
    const base = baseName(f.path);
    byBase.set(base, [...(byBase.get(base) ?? []), f]);
  }
  const dirOf = (f: ScannedFile, name: string) =>
    f.path === name ? '' : f.path.slice(0, f.path.length - name.length - 1);
  const matches = (name: string) =>
    (byBase.get(baseName(name)) ?? []).filter((f) => f.path === name || f.path.endsWith(`/${name}`));
  const counts = new Map<string, number>();
  for (const name of names) {
    for (const f of matches(name)) counts.set(dirOf(f, name), (counts.get(dirOf(f, name)) ?? 0) + 1);
  }
  const ranked = [...counts].sort(
    ([da, ca], [db, cb]) => preference(db) - preference(da) || cb - ca || da.length - db.length,
  );
  if (ranked.length === 0) return { find: () => undefined };
  const best = ranked[0][0];
  const bestPreference = preference(best);
  return {
    find(name) {
      const found = matches(name);
      const inBest = found.find((f) => dirOf(f, name) === best);
      if (inBest) return inBest;
      const alike = found.filter((f) => preference(dirOf(f, name)) === bestPreference);
      return alike.length === 1 ? alike[0] : undefined;
    },
  };
}

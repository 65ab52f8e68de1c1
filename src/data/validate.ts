/**
 * Byte-level checks of one image the layout found: image header, size limit and integrity; mask
 * decoding, size against the image, and ids against segments_info (or, in the simple layout,
 * segments derived from the ids). Measures each segment's area and bbox from the mask.
 */
import type { DearliError } from '../core/errors';
import { VOID_ID, type Category, type SegmentInfo } from '../core/panoptic';
import { decodeMaskPng, probeAndCheckImage } from './decode';
import { readBlob, readBytes } from './files';
import { SIMPLE_LABEL_DIVISOR } from './layouts/simple';
import type { LayoutImage } from './layouts/scan';
import { asFileProblem, problems } from './problems';
import type { PlannedImage } from './types';

export interface SegmentMeasure {
  area: number;
  bbox: [x: number, y: number, width: number, height: number];
}

/** Area and COCO bbox [x, y, w, h] of every id present in the map (void included). */
export function measureSegments(ids: Uint32Array, width: number): Map<number, SegmentMeasure> {
  const boxes = new Map<number, { area: number; x0: number; y0: number; x1: number; y1: number }>();
  const height = ids.length / width;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    // Runs of one id along a row cost one map lookup.
    for (let x = 0; x < width;) {
      const id = ids[row + x];
      let end = x + 1;
      while (end < width && ids[row + end] === id) end++;
      const b = boxes.get(id);
      if (!b) boxes.set(id, { area: end - x, x0: x, y0: y, x1: end - 1, y1: y });
      else {
        b.area += end - x;
        if (x < b.x0) b.x0 = x;
        if (end - 1 > b.x1) b.x1 = end - 1;
        b.y1 = y; // rows arrive in order, so y0 is already the least
      }
      x = end;
    }
  }
  const out = new Map<number, SegmentMeasure>();
  for (const [id, b] of boxes) out.set(id, { area: b.area, bbox: [b.x0, b.y0, b.x1 - b.x0 + 1, b.y1 - b.y0 + 1] });
  return out;
}

export interface CheckedImage {
  planned?: PlannedImage;
  errors: DearliError[];
}

/** Runs every check on one image (and its mask); the image is planned only when all pass. */
export async function checkImage(image: LayoutImage, categories: Category[]): Promise<CheckedImage> {
  const errors: DearliError[] = [];
  let probe;
  try {
    const blob = await readBlob(image.file);
    probe = await probeAndCheckImage(blob, image.path);
  } catch (e) {
    return { errors: [asFileProblem(e, image.path)] };
  }
  const planned: PlannedImage = {
    path: image.path,
    fileName: image.fileName,
    source: image.file,
    type: probe.type,
    width: probe.width,
    height: probe.height,
    bytes: image.file.size,
    sourceImageId: image.sourceImageId,
  };
  if (!image.mask) return { planned, errors };

  const maskPath = image.mask.path;
  let mask;
  try {
    mask = decodeMaskPng(await readBytes(image.mask.file), maskPath, {
      path: image.path,
      width: probe.width,
      height: probe.height,
    });
  } catch (e) {
    return { errors: [asFileProblem(e, maskPath)] };
  }
  if (mask.width !== probe.width || mask.height !== probe.height) {
    errors.push(
      problems.maskSizeMismatch(maskPath, [mask.width, mask.height], [probe.width, probe.height], image.path),
    );
    return { errors };
  }
  const measured = measureSegments(mask.ids, mask.width);
  measured.delete(VOID_ID);
  const segments = image.mask.declared
    ? matchDeclared(image.mask.declared, measured, maskPath, mask.colorType === 'grey', errors)
    : deriveSegments(measured, categories, maskPath, errors);
  if (errors.length) return { errors };
  planned.mask = { path: maskPath, source: image.mask.file, segments, canonical: mask.colorType === 'rgb' };
  return { planned, errors };
}

function matchDeclared(
  declared: SegmentInfo[],
  measured: Map<number, SegmentMeasure>,
  file: string,
  greyscale: boolean,
  errors: DearliError[],
): SegmentInfo[] {
  const declaredIds = new Set(declared.map((s) => s.id));
  const undeclared = [...measured.keys()].filter((id) => !declaredIds.has(id)).sort((a, b) => a - b);
  if (undeclared.length) errors.push(problems.idsMissingFromSegments(file, undeclared, greyscale));
  const absent = declared.filter((s) => !measured.has(s.id)).map((s) => s.id);
  if (absent.length) {
    errors.push(problems.segmentsMissingFromMask(file, absent));
    return [];
  }
  return declared.map((s) => measuredSegment(s.id, s.category_id, s.iscrowd, measured.get(s.id)!));
}

function deriveSegments(
  measured: Map<number, SegmentMeasure>,
  categories: Category[],
  file: string,
  errors: DearliError[],
): SegmentInfo[] {
  const known = new Set(categories.map((c) => c.id));
  const ids = [...measured.keys()].sort((a, b) => a - b);
  const unknown = [...new Set(ids.map((id) => Math.floor(id / SIMPLE_LABEL_DIVISOR)).filter((c) => !known.has(c)))];
  if (unknown.length) errors.push(problems.unknownCategory(file, unknown));
  return ids.map((id) => measuredSegment(id, Math.floor(id / SIMPLE_LABEL_DIVISOR), 0, measured.get(id)!));
}

/**
 * A planned segment, always built by this one literal: every segment of a plan then shares one
 * object shape. Spreading the declared segment and its measure gave each segment a shape of its own
 * (a map and a descriptor array, about 220 bytes more per segment, over a kilobyte per image held
 * by the plan until it is committed).
 */
function measuredSegment(
  id: number,
  category_id: number,
  iscrowd: number | undefined,
  measure: SegmentMeasure,
): SegmentInfo {
  return { id, category_id, iscrowd, area: measure.area, bbox: measure.bbox };
}

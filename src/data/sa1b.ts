/**
 * SA-1B style mask files: one JSON per image,
 * {image: {image_id, file_name, height, width}, annotations: [{segmentation: COCO RLE {size, counts},
 * area, predicted_iou, stability_score, bbox?, point_coords?, crop_box?, id?}]}
 * as DEARLi's save_sam_masks.py writes them for DeWa. Every problem is a DearliError naming the file
 * and the annotation.
 */
import { DearliError } from '../core/errors';
import { normalizeRle, rleArea, toCocoRle, type CocoRle } from '../core/rle';

interface Sa1bImage {
  image_id: number | string;
  file_name: string;
  height: number;
  width: number;
}

interface Sa1bAnnotation {
  id?: number;
  /** Always the compressed string form (uncompressed counts in the file are compressed on reading). */
  segmentation: CocoRle;
  area: number;
  /** null in files written from the classical fallback. */
  predicted_iou: number | null;
  stability_score: number | null;
  bbox?: [number, number, number, number];
  point_coords?: [number, number][];
  crop_box?: [number, number, number, number];
}

export interface Sa1bFile {
  image: Sa1bImage;
  annotations: Sa1bAnnotation[];
}

const FIX = 'Regenerate the mask file, or remove it from the folder.';

function fail(file: string, problem: string, fix = FIX): never {
  throw new DearliError('sa1b-invalid', problem, fix, file);
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const lineCol = /line (\d+) column (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    const where = lineCol
      ? { line: Number(lineCol[1]), column: Number(lineCol[2]) }
      : lineAndColumn(text, position ? Number(position[1]) : text.length);
    fail(
      file,
      `the file is not valid JSON at line ${where.line}, column ${where.column} (${message})`,
      'Fix or regenerate the file: it was probably cut short or edited by hand.',
    );
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function numberTuple<N extends number>(v: unknown, n: N): v is number[] & { length: N } {
  return Array.isArray(v) && v.length === n && v.every(isFiniteNumber);
}

function parseImage(v: unknown, file: string): Sa1bImage {
  if (!isObject(v)) fail(file, 'the field "image" is missing or not an object');
  const { image_id, file_name, height, width } = v;
  if (typeof image_id !== 'number' && typeof image_id !== 'string')
    fail(file, 'the field "image.image_id" is missing (a number or string)');
  if (typeof file_name !== 'string' || file_name === '')
    fail(file, 'the field "image.file_name" is missing (a string)');
  if (!Number.isInteger(height) || (height as number) <= 0)
    fail(file, `the field "image.height" must be a positive integer, got ${JSON.stringify(height)}`);
  if (!Number.isInteger(width) || (width as number) <= 0)
    fail(file, `the field "image.width" must be a positive integer, got ${JSON.stringify(width)}`);
  return { image_id, file_name, height: height as number, width: width as number };
}

function parseAnnotation(v: unknown, index: number, image: Sa1bImage, file: string): Sa1bAnnotation {
  const at = `annotation ${index}`;
  if (!isObject(v)) fail(file, `${at} is not an object`);
  const seg = v.segmentation;
  if (!isObject(seg)) fail(file, `${at}: the field "segmentation" is missing (a COCO RLE {size, counts})`);
  if (!numberTuple(seg.size, 2)) fail(file, `${at}: "segmentation.size" must be [height, width]`);
  const [h, w] = seg.size;
  if (h !== image.height || w !== image.width) {
    fail(
      file,
      `${at}: the RLE size is ${h}×${w} but the image is ${image.height}×${image.width}`,
      'The masks belong to another image or another resolution: regenerate them for this image.',
    );
  }
  if (
    typeof seg.counts !== 'string' &&
    !(Array.isArray(seg.counts) && seg.counts.every((c) => typeof c === 'number'))
  ) {
    fail(file, `${at}: "segmentation.counts" must be a COCO RLE string or a list of counts`);
  }
  let rle;
  try {
    rle = normalizeRle({ size: [h, w], counts: seg.counts as string | number[] });
  } catch (e) {
    fail(file, `${at}: ${(e as DearliError).problem ?? (e as Error).message}`);
  }
  for (const key of ['area', 'predicted_iou', 'stability_score'] as const) {
    if (!(key in v)) fail(file, `${at}: the field "${key}" is missing`);
  }
  if (!isFiniteNumber(v.area)) fail(file, `${at}: "area" must be a number`);
  const area = rleArea(rle);
  if (v.area !== area) fail(file, `${at}: "area" is ${v.area} but the mask has ${area} pixels`);
  for (const key of ['predicted_iou', 'stability_score'] as const) {
    if (v[key] !== null && !isFiniteNumber(v[key]))
      fail(file, `${at}: "${key}" must be a number (or null for fallback masks)`);
  }
  const out: Sa1bAnnotation = {
    segmentation: typeof seg.counts === 'string' ? { size: [h, w], counts: seg.counts } : toCocoRle(rle),
    area,
    predicted_iou: v.predicted_iou as number | null,
    stability_score: v.stability_score as number | null,
  };
  if (v.id !== undefined) {
    if (!isFiniteNumber(v.id)) fail(file, `${at}: "id" must be a number`);
    out.id = v.id;
  }
  if (v.bbox !== undefined) {
    if (!numberTuple(v.bbox, 4)) fail(file, `${at}: "bbox" must be [x, y, w, h]`);
    out.bbox = [v.bbox[0], v.bbox[1], v.bbox[2], v.bbox[3]];
  }
  if (v.crop_box !== undefined) {
    if (!numberTuple(v.crop_box, 4)) fail(file, `${at}: "crop_box" must be [x, y, w, h]`);
    out.crop_box = [v.crop_box[0], v.crop_box[1], v.crop_box[2], v.crop_box[3]];
  }
  if (v.point_coords !== undefined) {
    if (!Array.isArray(v.point_coords) || !v.point_coords.every((p) => numberTuple(p, 2)))
      fail(file, `${at}: "point_coords" must be a list of [x, y]`);
    out.point_coords = (v.point_coords as number[][]).map((p) => [p[0], p[1]]);
  }
  return out;
}

/** Parses and validates one SA-1B style JSON text; `file` names it in every error. */
export function parseSa1bJson(text: string, file: string): Sa1bFile {
  const root = parseJson(text, file);
  if (!isObject(root)) fail(file, 'the top level is not a JSON object with "image" and "annotations"');
  const image = parseImage(root.image, file);
  if (!Array.isArray(root.annotations)) fail(file, 'the field "annotations" is missing or not a list');
  return { image, annotations: root.annotations.map((a, i) => parseAnnotation(a, i, image, file)) };
}

/**
 * Reading COCO panoptic files: the annotation JSON (checked field by field, so a bad file is reported
 * with its name) and the RGB id PNGs (decoded bit-exactly, by default with fast-png). `idMapOfPng` is
 * the one pixels → ids decoder; dataset import (src/data/decode.ts) uses it too.
 */
import { decode as decodeWithFastPng, type DecodedPng } from 'fast-png';
import { DearliError } from './errors';
import { decodeIdMap, type Category, type PanopticAnnotation, type SegmentInfo } from './panoptic';
import { PairCounter, type PairCounts } from './pairCounts';
import { PanopticEvaluator, type PanopticEvaluation } from './pq';

export interface PanopticJson {
  /** Empty unless asked for: only the ground truth's categories count, as in panopticapi. */
  categories: Category[];
  annotations: PanopticAnnotation[];
}

export interface IdMap {
  ids: Uint32Array;
  width: number;
  height: number;
}

/** A COCO panoptic JSON and the folder of PNGs it names, behind whatever storage holds them. */
export interface PanopticFolder {
  jsonFile: string;
  jsonText: string;
  /** The path shown in errors for a PNG named in the JSON. */
  pngPath(fileName: string): string;
  readPng(path: string): Promise<Uint8Array> | Uint8Array;
}

/**
 * Evaluates a whole prediction folder against its ground truth, one image at a time. `decodePng`
 * defaults to fast-png, which runs in the browser too; Node callers pass a faster one, and
 * `rowReaders` to count pixel pairs row by row without id maps (the id maps are still decoded for an
 * interlaced PNG or a size mismatch, which `decodePng` and the evaluator then report): one reader
 * per side, as a reader's rows may only last until it reads the next file.
 */
export async function evaluatePanopticFolders(
  gt: PanopticFolder,
  pred: PanopticFolder,
  decodePng: PanopticPngDecoder = decodePanopticPng,
  rowReaders?: { gt: PanopticPngRowReader; pred: PanopticPngRowReader },
): Promise<PanopticEvaluation> {
  const gtJson = parsePanopticJson(gt.jsonText, gt.jsonFile, true);
  const predJson = parsePanopticJson(pred.jsonText, pred.jsonFile, false);
  const evaluator = new PanopticEvaluator(gtJson.categories);
  for (const pair of pairAnnotations(gtJson.annotations, predJson.annotations, gt.jsonFile, pred.jsonFile)) {
    const gtPng = gt.pngPath(pair.gt.file_name);
    const predPng = pred.pngPath(pair.pred.file_name);
    const gtBytes = await readPng(gt, gtPng);
    const predBytes = await readPng(pred, predPng);
    const gtSegments = { segments: pair.gt.segments_info, pngFile: gtPng, jsonFile: gt.jsonFile };
    const predSegments = { segments: pair.pred.segments_info, pngFile: predPng, jsonFile: pred.jsonFile };
    const gtRows = rowReaders?.gt(gtBytes, gtPng);
    const predRows = gtRows && rowReaders!.pred(predBytes, predPng);
    if (gtRows && predRows && gtRows.width === predRows.width && gtRows.height === predRows.height) {
      evaluator.addPairCounts(gtSegments, predSegments, countPairsOfRows(gtRows, predRows));
    } else {
      evaluator.addImage(
        { ...decodePng(gtBytes, gtPng), ...gtSegments },
        { ...decodePng(predBytes, predPng), ...predSegments },
      );
    }
  }
  return evaluator.summarize();
}

/**
 * An 8-bit RGB(A) PNG read row by row: `unfilterRow(y)`, called for y = 0, 1, … in order, returns
 * the offset in `bytes` of row y's first pixel; `sameAsRowAbove(y)` (after it) says whether row y
 * equals row y − 1.
 */
export interface PanopticPngRows {
  width: number;
  height: number;
  bytesPerPixel: 3 | 4;
  bytes: Uint8Array;
  view: DataView;
  unfilterRow(y: number): number;
  sameAsRowAbove(y: number): boolean;
}

/** Reads a panoptic PNG's rows, or returns null where it cannot give them in raster order. */
export type PanopticPngRowReader = (bytes: Uint8Array, file: string) => PanopticPngRows | null;

/** The (gt id, pred id) pixel pairs of two same-size PNGs, one row of each at a time. */
export function countPairsOfRows(gt: PanopticPngRows, pred: PanopticPngRows): PairCounts {
  const counter = new PairCounter(gt.width);
  for (let y = 0; y < gt.height; y++) {
    const g = gt.unfilterRow(y);
    const p = pred.unfilterRow(y);
    if (gt.sameAsRowAbove(y) && pred.sameAsRowAbove(y)) counter.repeatRow();
    else counter.addRow(gt.bytes, gt.view, g, gt.bytesPerPixel, pred.bytes, pred.view, p, pred.bytesPerPixel);
  }
  return counter.counts();
}

async function readPng(folder: PanopticFolder, path: string): Promise<Uint8Array> {
  try {
    return await folder.readPng(path);
  } catch (e) {
    throw new DearliError(
      'eval-missing-png',
      `cannot be read (${(e as Error).message}); ${folder.jsonFile} names it`,
      'Put every PNG that the JSON names into its folder.',
      path,
    );
  }
}

/** Parses and checks a COCO panoptic JSON text (its categories too when `withCategories`); `file` names it in errors. */
export function parsePanopticJson(text: string, file: string, withCategories: boolean): PanopticJson {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new DearliError(
      'eval-bad-json',
      `not valid JSON (${(e as Error).message})`,
      'Export the annotations again as COCO panoptic JSON.',
      file,
    );
  }
  const bad = (problem: string): DearliError =>
    new DearliError(
      'eval-bad-json',
      problem,
      'Follow the COCO panoptic format: {annotations:[{image_id, file_name, segments_info:[{id, category_id, iscrowd}]}], categories:[{id, name, isthing}]}.',
      file,
    );
  if (!isRecord(root)) throw bad('the top level is not an object');

  const categories: Category[] = [];
  if (withCategories) {
    if (!Array.isArray(root.categories) || root.categories.length === 0) throw bad('"categories" is missing or empty');
    root.categories.forEach((c: unknown, i: number) => {
      if (!isRecord(c) || !Number.isInteger(c.id)) throw bad(`categories[${i}] has no integer "id"`);
      if (categories.some((known) => known.id === c.id)) throw bad(`category id ${c.id} is listed twice`);
      // panopticapi counts a category as a thing when isthing == 1 (true == 1 in Python too).
      if (c.isthing !== 0 && c.isthing !== 1 && typeof c.isthing !== 'boolean')
        throw bad(`categories[${i}] has no "isthing" of 0 or 1`);
      categories.push({
        id: c.id as number,
        name: typeof c.name === 'string' ? c.name : String(c.id),
        isthing: c.isthing === 1 || c.isthing === true,
      });
    });
  }

  if (!Array.isArray(root.annotations)) throw bad('"annotations" is missing or not a list');
  const annotations = root.annotations.map((a: unknown, i: number): PanopticAnnotation => {
    if (!isRecord(a)) throw bad(`annotations[${i}] is not an object`);
    if (typeof a.image_id !== 'number' && typeof a.image_id !== 'string')
      throw bad(`annotations[${i}] has no "image_id"`);
    if (typeof a.file_name !== 'string' || a.file_name === '') throw bad(`annotations[${i}] has no "file_name"`);
    if (!Array.isArray(a.segments_info)) throw bad(`annotations[${i}] (${a.file_name}) has no "segments_info" list`);
    const segments = a.segments_info.map((s: unknown, j: number): SegmentInfo => {
      const where = `annotations[${i}].segments_info[${j}] (${a.file_name})`;
      if (!isRecord(s) || !Number.isInteger(s.id) || !Number.isInteger(s.category_id))
        throw bad(`${where} needs integer "id" and "category_id"`);
      const segment: SegmentInfo = { id: s.id as number, category_id: s.category_id as number };
      if (s.iscrowd !== undefined) {
        if (s.iscrowd !== 0 && s.iscrowd !== 1 && typeof s.iscrowd !== 'boolean')
          throw bad(`${where} has "iscrowd" other than 0 or 1`);
        segment.iscrowd = Number(s.iscrowd);
      }
      if (typeof s.area === 'number') segment.area = s.area;
      return segment;
    });
    return { image_id: a.image_id, file_name: a.file_name, segments_info: segments };
  });
  return { categories, annotations };
}

/**
 * Pairs every ground-truth annotation with the prediction of the same image_id (compared as
 * panopticapi does: 1 and "1" differ). Predictions for other images are ignored.
 */
export function pairAnnotations(
  gt: readonly PanopticAnnotation[],
  pred: readonly PanopticAnnotation[],
  gtFile: string,
  predFile: string,
): { gt: PanopticAnnotation; pred: PanopticAnnotation }[] {
  const predByImage = new Map<number | string, PanopticAnnotation>();
  for (const annotation of pred) predByImage.set(annotation.image_id, annotation);
  const seen = new Set<number | string>();
  return gt.map((annotation) => {
    if (seen.has(annotation.image_id)) {
      throw new DearliError(
        'eval-duplicate-image',
        `image_id ${JSON.stringify(annotation.image_id)} is annotated twice`,
        'Keep one annotation per image.',
        gtFile,
      );
    }
    seen.add(annotation.image_id);
    const match = predByImage.get(annotation.image_id);
    if (!match) {
      throw new DearliError(
        'eval-missing-prediction',
        `no prediction for image_id ${JSON.stringify(annotation.image_id)} (${annotation.file_name}) of ${gtFile}`,
        'Predict every ground-truth image, with the same image_id.',
        predFile,
      );
    }
    return { gt: annotation, pred: match };
  });
}

/** Turns a panoptic PNG's bytes into segment ids; `file` names it in errors. */
export type PanopticPngDecoder = (bytes: Uint8Array, file: string) => IdMap;

/**
 * Decodes a COCO panoptic PNG for evaluation to segment ids: only 8-bit RGB or RGBA (alpha ignored),
 * the maps panopticapi reads.
 */
export function decodePanopticPng(bytes: Uint8Array, file: string): IdMap {
  let png;
  try {
    png = decodeWithFastPng(bytes);
  } catch (e) {
    throw undecodablePngError((e as Error).message, file);
  }
  if (png.depth !== 8 || (png.channels !== 3 && png.channels !== 4) || png.palette) {
    throw unsupportedPngError(png.depth, png.channels, Boolean(png.palette), file);
  }
  const { ids, width, height } = idMapOfPng(png, (detail) => undecodablePngError(detail, file));
  return { ids, width, height };
}

export interface DecodedIdPng extends IdMap {
  /**
   * How the ids were stored: 'rgb' (8-bit RGB or RGBA, the canonical form), 'palette' or 'grey'
   * (ids 65793·v; used to word the error when they do not match).
   */
  colorType: 'rgb' | 'palette' | 'grey';
}

/**
 * A decoded PNG's pixels → one id per pixel, id = R + 256·G + 256²·B, for every 8-bit-or-less colour
 * type, chosen so that every lossless re-encoding of an RGB id PNG gives the same ids:
 * - RGB and RGBA: alpha is ignored, as panopticapi does.
 * - Palette: expanded through the palette to RGB (optimisers such as oxipng turn RGB masks with at
 *   most 256 colours into palette PNGs without changing a colour).
 * - Greyscale (with or without alpha): read as the RGB colour it denotes (R = G = B = v, so
 *   id = 65793·v), for the same reason.
 * Callers refuse the colour types they do not accept (16-bit always) before calling; `fail(detail)`
 * makes the error for a palette index beyond the palette.
 */
export function idMapOfPng(png: DecodedPng, fail: (detail: string) => Error): DecodedIdPng {
  const { width, height } = png;
  const n = width * height;
  if (png.palette) {
    const paletteIds = png.palette.map(([r, g, b]) => r + 256 * g + 65536 * b);
    const index = unpackSamples(png.data, width, height, png.depth);
    const ids = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const id = paletteIds[index[i]];
      if (id === undefined) throw fail(`palette index ${index[i]} beyond the ${paletteIds.length}-colour palette`);
      ids[i] = id;
    }
    return { width, height, ids, colorType: 'palette' };
  }
  if (png.channels === 3 || png.channels === 4)
    return { width, height, ids: decodeIdMap(png.data, width, height, png.channels), colorType: 'rgb' };
  // Greyscale (1 channel) or grey + alpha (2 channels, always 8 bits here).
  const grey = png.channels === 1 ? unpackSamples(png.data, width, height, png.depth) : png.data;
  const scale = 255 / ((1 << Math.min(png.depth, 8)) - 1);
  const ids = new Uint32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += png.channels) ids[i] = Math.round(grey[p] * scale) * 65793;
  return { width, height, ids, colorType: 'grey' };
}

/** One sample per pixel from rows packed at 1, 2 or 4 bits (8-bit data is returned as is). */
function unpackSamples(data: ArrayLike<number>, width: number, height: number, depth: number): ArrayLike<number> {
  if (depth === 8) return data;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      out[y * width + x] = (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** The error for bytes that are no readable PNG, shared by every panoptic PNG decoder. */
export function undecodablePngError(reason: string, file: string): DearliError {
  return new DearliError(
    'eval-bad-png',
    `cannot be decoded as PNG (${reason})`,
    'Save panoptic maps as RGB PNG files.',
    file,
  );
}

/** The error for a PNG that is not an 8-bit RGB(A) id map, shared by every panoptic PNG decoder. */
export function unsupportedPngError(depth: number, channels: number, hasPalette: boolean, file: string): DearliError {
  return new DearliError(
    'eval-bad-png',
    `is a ${depth}-bit PNG with ${channels} channel(s)${hasPalette ? ' and a palette' : ''}, not an 8-bit RGB id map`,
    'Save panoptic maps as 8-bit RGB PNG with id = R + 256·G + 256²·B.',
    file,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

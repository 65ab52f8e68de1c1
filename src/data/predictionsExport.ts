/**
 * Predictions in COCO panoptic format, zipped: `panoptic_pred.json` (images, annotations with
 * segments_info, categories) and `panoptic_pred/<stem>.png` (RGB ids), the layout panopticapi's
 * `pq_compute` and `npm run eval` read. PNGs are streamed into the zip one image at a time.
 */
import { BlobWriter, TextReader, Uint8ArrayReader, ZipWriter } from '@zip.js/zip.js';
import type { Category, PanopticAnnotation } from '../core/panoptic';
import { encodeIdPng } from './decode';

export const PREDICTIONS_JSON = 'panoptic_pred.json';
export const PREDICTIONS_DIR = 'panoptic_pred';

export interface PanopticPrediction {
  imageId: number | string;
  /** The image's own file name; the PNG takes its stem. */
  imageFile: string;
  width: number;
  height: number;
  /** Segment id per pixel, row-major (0 = void). */
  ids: Uint32Array;
  segments: { id: number; category_id: number }[];
}

const stem = (file: string) => file.replace(/^.*\//, '').replace(/\.[^.]*$/, '');

/** Zips every prediction with its JSON; `onImage` reports progress after each. */
export async function exportPanopticPredictions(
  predictions: AsyncIterable<PanopticPrediction> | Iterable<PanopticPrediction>,
  categories: readonly Category[],
  onImage?: (done: number) => void,
): Promise<Blob> {
  const zip = new ZipWriter(new BlobWriter('application/zip'));
  const images: { id: number | string; file_name: string; width: number; height: number }[] = [];
  const annotations: PanopticAnnotation[] = [];
  const usedNames = new Set<string>();
  for await (const p of predictions) {
    let name = `${stem(p.imageFile)}.png`;
    // Two images with one stem in different folders still get two PNGs.
    for (let k = 1; usedNames.has(name); k++) name = `${stem(p.imageFile)}_${k}.png`;
    usedNames.add(name);
    const area = new Map<number, number>();
    for (const id of p.ids) if (id !== 0) area.set(id, (area.get(id) ?? 0) + 1);
    annotations.push({
      image_id: p.imageId,
      file_name: name,
      segments_info: p.segments
        .filter((s) => area.has(s.id))
        .map((s) => ({ id: s.id, category_id: s.category_id, area: area.get(s.id) })),
    });
    images.push({ id: p.imageId, file_name: p.imageFile, width: p.width, height: p.height });
    await zip.add(`${PREDICTIONS_DIR}/${name}`, new Uint8ArrayReader(encodeIdPng(p.ids, p.width, p.height)), {
      level: 0,
    });
    onImage?.(annotations.length);
  }
  const json = {
    info: { description: 'DEARLi Lab panoptic predictions' },
    images,
    annotations,
    categories: categories.map((c) => ({ id: c.id, name: c.name, isthing: c.isthing ? 1 : 0 })),
  };
  await zip.add(PREDICTIONS_JSON, new TextReader(JSON.stringify(json)));
  return zip.close();
}

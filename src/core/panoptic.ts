/** Panoptic formats shared by every layer: the COCO RGB id codec and the segment records. */

export interface Category {
  id: number;
  name: string;
  isthing: boolean;
  color?: [number, number, number];
  /**
   * Every name the text classifier prompts this class with, e.g. ["person", "child", "man"]; each is
   * split on commas as upstream does. Without synonyms the class is prompted with its name, split on
   * commas ("road, route" → road, route).
   */
  synonyms?: string[];
}

export interface SegmentInfo {
  id: number;
  category_id: number;
  area?: number;
  bbox?: [number, number, number, number];
  iscrowd?: number;
}

export interface PanopticAnnotation {
  image_id: number | string;
  file_name: string;
  segments_info: SegmentInfo[];
}

export const VOID_ID = 0;

/** Decodes an interleaved RGB or RGBA pixel buffer into one segment id per pixel. */
export function decodeIdMap(pixels: ArrayLike<number>, width: number, height: number, channels: 3 | 4): Uint32Array {
  const n = width * height;
  if (pixels.length !== n * channels) {
    throw new RangeError(`expected ${n * channels} values for ${width}x${height}x${channels}, got ${pixels.length}`);
  }
  const ids = new Uint32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += channels) ids[i] = pixels[p] + 256 * pixels[p + 1] + 65536 * pixels[p + 2];
  return ids;
}

/** Encodes segment ids as interleaved RGB (3 bytes per pixel), the inverse of decodeIdMap. */
export function encodeIdMap(ids: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(ids.length * 3);
  for (let i = 0, p = 0; i < ids.length; i++, p += 3) {
    const id = ids[i];
    out[p] = id & 255;
    out[p + 1] = (id >>> 8) & 255;
    out[p + 2] = (id >>> 16) & 255;
  }
  return out;
}

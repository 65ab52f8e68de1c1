/**
 * The one segment colour scheme of every viewer (dataset images, class-agnostic masks, training
 * predictions): a stuff segment takes its category's colour; a thing instance its category's colour
 * jittered by its segment id; a segment without a category a colour hashed from its id. The same
 * segment therefore looks the same wherever it is shown.
 */
import type { Category } from '../core/panoptic';

export type Rgb = [number, number, number];

const hash = (id: number) => Math.imul(id ^ 0x9e3779b9, 0x85ebca6b) >>> 0;

export function segmentColor(id: number, category: Category | undefined): Rgb {
  const h = hash(id);
  if (!category) return [64 + ((h >>> 0) & 191), 64 + ((h >>> 8) & 191), 64 + ((h >>> 16) & 191)];
  const base = category.color ?? [200, 200, 200];
  if (!category.isthing) return [base[0], base[1], base[2]];
  const jitter = (k: number) => ((h >>> (k * 8)) & 63) - 32;
  const clamp = (v: number) => Math.max(0, Math.min(255, v));
  return [clamp(base[0] + jitter(0)), clamp(base[1] + jitter(1)), clamp(base[2] + jitter(2))];
}

/** RGBA at the id map's size: each pixel in its segment's colour, pixels without a colour transparent. */
export function paintOverlay(ids: ArrayLike<number>, colorOf: (id: number) => Rgb | null | undefined, alpha = 255): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(ids.length * 4);
  for (let i = 0; i < ids.length; i++) {
    const c = colorOf(ids[i]);
    if (!c) continue;
    rgba[4 * i] = c[0];
    rgba[4 * i + 1] = c[1];
    rgba[4 * i + 2] = c[2];
    rgba[4 * i + 3] = alpha;
  }
  return rgba;
}

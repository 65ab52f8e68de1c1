/**
 * The one overlay palette of every viewer (dataset images, class-agnostic masks, training
 * predictions). Colours come from the category's place in the palette, never from the category's
 * own colour: datasets (the demo among them) paint objects in their category colour, so an overlay
 * in that colour disappears into the photo. Hues step by the golden angle, so neighbouring ids
 * differ strongly, at full saturation and mid lightness, which stands out against photographs; a
 * thing instance varies its category's lightness by its segment id; a segment without a category
 * hashes its id to a hue. The same segment therefore looks the same wherever it is shown.
 */
import type { Category } from '../core/panoptic';

export type Rgb = [number, number, number];

const GOLDEN_ANGLE = 137.508;

const hash = (id: number) => Math.imul(id ^ 0x9e3779b9, 0x85ebca6b) >>> 0;

/** HSL (hue in degrees, saturation and lightness 0..1) to 8-bit RGB. */
export function hslToRgb(hue: number, saturation: number, lightness: number): Rgb {
  const c = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const h = (((hue % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] =
    h < 1 ? [c, x, 0] : h < 2 ? [x, c, 0] : h < 3 ? [0, c, x] : h < 4 ? [0, x, c] : h < 5 ? [x, 0, c] : [c, 0, x];
  const m = lightness - c / 2;
  return [Math.round(255 * (r + m)), Math.round(255 * (g + m)), Math.round(255 * (b + m))];
}

export function segmentColor(id: number, category: Category | undefined): Rgb {
  const h = hash(id);
  if (!category) return hslToRgb(h % 360, 0.95, 0.55);
  const hue = category.id * GOLDEN_ANGLE;
  if (!category.isthing) return hslToRgb(hue, 0.95, 0.5);
  // Instances of one class keep its hue; lightness 0.4..0.7 tells them apart.
  return hslToRgb(hue, 0.95, 0.4 + 0.1 * (h % 4));
}

/** RGBA at the id map's size: each pixel in its segment's colour, pixels without a colour transparent. */
export function paintOverlay(
  ids: ArrayLike<number>,
  colorOf: (id: number) => Rgb | null | undefined,
  alpha = 255,
): Uint8ClampedArray {
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

/**
 * Small-region clean-up of binary masks, as segment-anything's `remove_small_regions` (which uses
 * OpenCV's connectedComponentsWithStats with 8-connectivity): fill holes smaller than an area, or
 * drop islands smaller than it. Masks are row-major, one byte per pixel, nonzero = set.
 */

export interface Components {
  /** Per pixel: 0 outside the labelled pixels, else the component's label 1..count. */
  labels: Int32Array;
  /** sizes[k − 1] = pixel count of label k; labels are numbered by their first pixel in row-major order. */
  sizes: number[];
}

/** 8-connected components of the pixels whose set/unset state equals `set`. */
export function connectedComponents8(mask: ArrayLike<number>, height: number, width: number, set: boolean): Components {
  const labels = new Int32Array(height * width);
  const sizes: number[] = [];
  const stack: number[] = [];
  const wanted = (i: number) => (mask[i] !== 0) === set;
  for (let start = 0; start < labels.length; start++) {
    if (labels[start] !== 0 || !wanted(start)) continue;
    const label = sizes.length + 1;
    let size = 0;
    labels[start] = label;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      size++;
      const y = Math.floor(p / width);
      const x = p - y * width;
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const q = ny * width + nx;
          if (labels[q] === 0 && wanted(q)) {
            labels[q] = label;
            stack.push(q);
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

export type SmallRegionMode = 'holes' | 'islands';

/**
 * 'holes': unset regions with fewer than `areaThresh` pixels are filled (any unset region counts,
 * also one touching the border). 'islands': set regions with fewer pixels are cleared; when every
 * island is small, only the largest stays (the first in row-major order on a tie). `changed` is true
 * whenever some region was small, even if the pixels end up the same (upstream's flag, which the
 * automatic mask generator turns into a score).
 */
export function removeSmallRegions(
  mask: ArrayLike<number>,
  height: number,
  width: number,
  areaThresh: number,
  mode: SmallRegionMode,
): { mask: Uint8Array; changed: boolean } {
  const holes = mode === 'holes';
  const { labels, sizes } = connectedComponents8(mask, height, width, !holes);
  const small = sizes.map((s) => s < areaThresh);
  const out = Uint8Array.from(mask, (v) => (v ? 1 : 0));
  if (!small.includes(true)) return { mask: out, changed: false };
  if (holes) {
    for (let i = 0; i < out.length; i++) if (labels[i] !== 0 && small[labels[i] - 1]) out[i] = 1;
    return { mask: out, changed: true };
  }
  const keep = small.map((s) => !s);
  if (!keep.includes(true)) keep[sizes.reduce((best, s, k) => (s > sizes[best] ? k : best), 0)] = true;
  for (let i = 0; i < out.length; i++) if (labels[i] !== 0 && !keep[labels[i] - 1]) out[i] = 0;
  return { mask: out, changed: true };
}

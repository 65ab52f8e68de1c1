/**
 * The label side of augmentation on the CPU: the same geometry as augmentImage (resize, crop,
 * flip, padding) applied with nearest sampling to an id map or a binary mask. Doing it on the host
 * keeps target counting (empty targets dropped, as detectron2's filter_empty_instances does) free
 * of GPU readbacks.
 */
import type { SegmentInfo } from '../core/panoptic';
import type { AugmentDraw } from './augment';
import type { HostTargets } from './targets';

/** Source pixel of every crop pixel (−1 = padding), matching augment.ts's nearest matrices. */
export function cropSourceIndex(d: AugmentDraw, width: number, height: number, crop: number): Int32Array {
  const rows = new Int32Array(crop);
  for (let y = 0; y < crop; y++) {
    const src = d.cropY + y;
    rows[y] = src < d.height ? Math.min(Math.floor((src * height) / d.height), height - 1) : -1;
  }
  const cols = new Int32Array(crop);
  for (let x = 0; x < crop; x++) {
    const src = d.cropX + (d.flip ? crop - 1 - x : x);
    cols[x] = src < d.width ? Math.min(Math.floor((src * width) / d.width), width - 1) : -1;
  }
  const index = new Int32Array(crop * crop);
  for (let y = 0; y < crop; y++) {
    for (let x = 0; x < crop; x++) index[y * crop + x] = rows[y] < 0 || cols[x] < 0 ? -1 : rows[y] * width + cols[x];
  }
  return index;
}

/** Panoptic targets of an augmented crop: one mask per non-crowd segment still visible in it. */
export function augmentedPanopticTargets(
  ids: ArrayLike<number>,
  segments: readonly SegmentInfo[],
  source: Int32Array,
  crop: number,
  classOf: (categoryId: number) => number,
): HostTargets {
  const kept = segments.filter((s) => !s.iscrowd && classOf(s.category_id) >= 0);
  const slot = new Map(kept.map((s, i) => [s.id, i]));
  const n = crop * crop;
  const masks = new Uint8Array(kept.length * n);
  const area = new Int32Array(kept.length);
  for (let p = 0; p < n; p++) {
    if (source[p] < 0) continue;
    const k = slot.get(ids[source[p]]);
    if (k === undefined) continue;
    masks[k * n + p] = 1;
    area[k]++;
  }
  return compactTargets(
    masks,
    area,
    Int32Array.from(kept, (s) => classOf(s.category_id)),
    crop,
  );
}

/** Class-agnostic (DeWa) targets from binary masks [count, H, W] at the source size. */
export function augmentedMaskTargets(masks: Uint8Array, count: number, source: Int32Array, crop: number): HostTargets {
  const n = crop * crop;
  const out = new Uint8Array(count * n);
  const area = new Int32Array(count);
  const plane = masks.length / Math.max(count, 1);
  for (let k = 0; k < count; k++) {
    for (let p = 0; p < n; p++) {
      if (source[p] >= 0 && masks[k * plane + source[p]]) {
        out[k * n + p] = 1;
        area[k]++;
      }
    }
  }
  return compactTargets(out, area, new Int32Array(count), crop);
}

function compactTargets(masks: Uint8Array, area: Int32Array, classes: Int32Array, crop: number): HostTargets {
  const n = crop * crop;
  const keep = [...area.keys()].filter((k) => area[k] > 0);
  const out = new Uint8Array(keep.length * n);
  keep.forEach((k, j) => out.set(masks.subarray(k * n, (k + 1) * n), j * n));
  return { width: crop, height: crop, masks: out, classes: Int32Array.from(keep, (k) => classes[k]) };
}

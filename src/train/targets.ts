/**
 * Training targets as the criterion wants them: one binary mask per target, padded to a fixed
 * count per image (static shapes keep GPU buffers reusable).
 * - Panoptic ground truth / pseudo-labels: one mask per non-crowd segment with its contiguous class;
 *   void pixels belong to no mask.
 * - DeWa: every SAM mask as class 0; masks may overlap.
 */
import * as tf from '@tensorflow/tfjs';
import type { SegmentInfo } from '../core/panoptic';
import type { TargetBatch } from './losses';

export interface PanopticLabel {
  width: number;
  height: number;
  /** Segment id per pixel, row-major; 0 = void. */
  ids: ArrayLike<number>;
  segments: readonly SegmentInfo[];
}

/** The one DeWa class (SA1B prompts "segment, object, regular shape"). */
export const DEWA_CLASS_SYNONYMS = ['segment', 'object', 'regular shape'] as const;

/** Host-side masks of one image: masks [count, H, W] as 0/1 bytes and their classes. */
export interface HostTargets {
  width: number;
  height: number;
  masks: Uint8Array;
  classes: Int32Array;
}

/** classOf maps a dataset category id to a contiguous class index (or −1 to drop the segment). */
export function panopticToHostTargets(label: PanopticLabel, classOf: (categoryId: number) => number): HostTargets {
  const kept = label.segments.filter((s) => !s.iscrowd && classOf(s.category_id) >= 0);
  const slot = new Map(kept.map((s, i) => [s.id, i]));
  const n = label.width * label.height;
  const masks = new Uint8Array(kept.length * n);
  for (let p = 0; p < n; p++) {
    const k = slot.get(label.ids[p]);
    if (k !== undefined) masks[k * n + p] = 1;
  }
  return {
    width: label.width,
    height: label.height,
    masks,
    classes: Int32Array.from(kept, (s) => classOf(s.category_id)),
  };
}

/** DeWa targets from SAM masks ([count, H, W] 0/1 bytes, possibly overlapping). */
export function dewaHostTargets(width: number, height: number, masks: Uint8Array): HostTargets {
  const count = masks.length / (width * height);
  return { width, height, masks, classes: new Int32Array(count) };
}

/**
 * Uploads a batch (all images the same size). Images with more than maxTargets masks keep the
 * first maxTargets (upstream can match at most #queries of them anyway).
 */
export function uploadTargets(images: HostTargets[], maxTargets: number): TargetBatch {
  const { width, height } = images[0];
  const n = width * height;
  const data = new Float32Array(images.length * maxTargets * n);
  const classes = images.map((img, i) => {
    if (img.width !== width || img.height !== height)
      throw new Error(`target ${i} is ${img.width}x${img.height}, the batch is ${width}x${height}`);
    const count = Math.min(img.classes.length, maxTargets);
    for (let k = 0; k < count * n; k++) data[i * maxTargets * n + k] = img.masks[k];
    return img.classes.slice(0, count);
  });
  return { masks: tf.tensor3d(data, [images.length * maxTargets, height, width]), maxTargets, classes };
}

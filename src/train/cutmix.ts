/**
 * CutMix of two unlabeled items (fidelity-review §9.1-9.2 step 5; upstream mapper `:28-48`, runner
 * `:29-175`): a box drawn on the partner B's unpadded crop, B's strong pixels pasted into A's strong
 * view, and the pseudo-labels mixed the same way. The label side runs on the host, like
 * augmentLabels.ts, so target counting needs no GPU readback.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng';
import type { ValidRegion } from './augment';
import type { PanopticResult, PanopticSegmentInfo } from './panopticInference';

/** A pseudo-label as CutMix reads it: the id map and each segment's class (scores play no part). */
export type PseudoLabelMap = Pick<PanopticResult, 'idMap'> & { segments: Omit<PanopticSegmentInfo, 'score'>[] };
import type { HostTargets } from './targets';

export interface CutmixBox {
  y: number;
  x: number;
  height: number;
  width: number;
}

export interface CutmixOptions {
  /** Upstream CUTMIX_PROB 0.5. */
  probability: number;
  /** Box area as a fraction of the unpadded crop: U(0.02, 0.4). */
  areaRange: [number, number];
  /** Aspect r ~ U(0.3, 1/0.3). */
  ratioRange: [number, number];
  /**
   * Deviation (upstream loops forever): give up after this many draws of (r, x, y). Only a region
   * far thinner than it is wide (or tall) can need it.
   */
  maxTries: number;
}

export const UPSTREAM_CUTMIX: CutmixOptions = {
  probability: 0.5,
  areaRange: [0.02, 0.4],
  ratioRange: [0.3, 1 / 0.3],
  maxTries: 1000,
};

/**
 * upstream obtain_cutmix_box on the partner's unpadded region: with probability p, area fixed, then
 * r, w = int(√(area/r)), h = int(√(area·r)), x ∈ [0, W), y ∈ [0, H) redrawn until the box fits.
 * Returns canvas coordinates, or null (no CutMix for this item, also when the box is empty).
 */
export function drawCutmixBox(rng: Rng, region: ValidRegion, o: CutmixOptions = UPSTREAM_CUTMIX): CutmixBox | null {
  if (rng.next() > o.probability) return null;
  const { width: W, height: H } = region;
  const area = rng.uniform(o.areaRange[0], o.areaRange[1]) * H * W;
  for (let i = 0; i < o.maxTries; i++) {
    const r = rng.uniform(o.ratioRange[0], o.ratioRange[1]);
    const width = Math.floor(Math.sqrt(area / r));
    const height = Math.floor(Math.sqrt(area * r));
    const x = rng.int(0, W - 1);
    const y = rng.int(0, H - 1);
    if (x + width <= W && y + height <= H)
      return width > 0 && height > 0 ? { y, x: region.x0 + x, height, width } : null;
  }
  return null;
}

/** Strong A with strong B's pixels inside the box (both [crop, crop, 3]). */
export function pasteBox(a: tf.Tensor3D, b: tf.Tensor3D, box: CutmixBox): tf.Tensor3D {
  const crop = a.shape[0];
  return tf.tidy(() => {
    const v = new Float32Array(crop * crop);
    for (let y = box.y; y < box.y + box.height; y++) v.fill(1, y * crop + box.x, y * crop + box.x + box.width);
    const m = tf.tensor3d(v, [crop, crop, 1]);
    return tf.add(tf.mul(a, tf.sub(1, m)), tf.mul(b, m)) as tf.Tensor3D;
  });
}

export interface MixedLabel {
  /** Segment id per canvas pixel (B's ids offset by max(ids_A)); 0 = void. */
  ids: Int32Array;
  targets: HostTargets;
}

/**
 * Mixes the pseudo-labels of A and B (both size×size): ids_B > 0 are offset by max(ids_A), the box
 * takes B's ids (B's void stays void), then the targets: A's segments first, then B's; segments with
 * no pixel left are dropped; things keep one mask each; stuff is merged by class across A and B.
 * Without a box this is A's own targets.
 */
export function cutmixLabels(
  a: PseudoLabelMap,
  b: PseudoLabelMap | null,
  box: CutmixBox | null,
  size: number,
): MixedLabel {
  const ids = Int32Array.from(a.idMap);
  let offset = 0;
  for (const v of a.idMap) offset = Math.max(offset, v);
  if (b && box) {
    for (let y = box.y; y < box.y + box.height; y++) {
      for (let x = box.x; x < box.x + box.width; x++) {
        const p = y * size + x;
        ids[p] = b.idMap[p] > 0 ? b.idMap[p] + offset : 0;
      }
    }
  }
  const segments = [...a.segments, ...(b && box ? b.segments.map((s) => ({ ...s, id: s.id + offset })) : [])];
  const slotOfId = new Map<number, number>();
  const stuffSlot = new Map<number, number>();
  const classes: number[] = [];
  const area = new Map<number, number>();
  for (const v of ids) if (v > 0) area.set(v, (area.get(v) ?? 0) + 1);
  for (const s of segments) {
    if (!area.get(s.id)) continue;
    const shared = s.isthing ? undefined : stuffSlot.get(s.category_id);
    if (shared !== undefined) {
      slotOfId.set(s.id, shared);
      continue;
    }
    slotOfId.set(s.id, classes.length);
    if (!s.isthing) stuffSlot.set(s.category_id, classes.length);
    classes.push(s.category_id);
  }
  const n = size * size;
  const masks = new Uint8Array(classes.length * n);
  for (let p = 0; p < n; p++) {
    const k = slotOfId.get(ids[p]);
    if (k !== undefined) masks[k * n + p] = 1;
  }
  return { ids, targets: { width: size, height: size, masks, classes: Int32Array.from(classes) } };
}

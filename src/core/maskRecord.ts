/**
 * The class-agnostic mask record that both the SAM automatic mask generator and the classical
 * fallback produce: one SA-1B style annotation (segment-anything `SamAutomaticMaskGenerator` with
 * output_mode "coco_rle") plus where it came from.
 */
import { encodeMask, rleArea, toCocoRle, type CocoRle } from './rle';

type MaskSource = 'sam' | 'fallback';

export interface MaskRecord {
  segmentation: CocoRle;
  area: number;
  /** [x, y, w, h] from the inclusive min/max set pixels with w = x_max − x_min (segment-anything's box_xyxy_to_xywh, not COCO's +1). */
  bbox: [number, number, number, number];
  /** SAM's IoU prediction; null for the fallback, which has no such score. */
  predicted_iou: number | null;
  /** SAM's stability score; null for the fallback. */
  stability_score: number | null;
  /** The prompt point in original pixels (empty for the fallback). */
  point_coords: [number, number][];
  /** [x, y, w, h] of the crop the mask came from (the whole image: no crops). */
  crop_box: [number, number, number, number];
  source: MaskSource;
}

/** segment-anything `batched_mask_to_box` for one row-major mask: [x1, y1, x2, y2] inclusive, [0, 0, 0, 0] when empty. */
export function maskToBox(mask: ArrayLike<number>, height: number, width: number): [number, number, number, number] {
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (!mask[row + x]) continue;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      y2 = y;
    }
  }
  return x2 < 0 ? [0, 0, 0, 0] : [x1, y1, x2, y2];
}

/** RLE, area and box of a binary mask, with the scores the caller knows. */
export function maskRecordFromBinary(
  mask: ArrayLike<number>,
  height: number,
  width: number,
  extra: Pick<MaskRecord, 'predicted_iou' | 'stability_score' | 'point_coords' | 'source'>,
): MaskRecord {
  const rle = encodeMask(mask, height, width);
  const [x1, y1, x2, y2] = maskToBox(mask, height, width);
  return {
    segmentation: toCocoRle(rle),
    area: rleArea(rle),
    bbox: [x1, y1, x2 - x1, y2 - y1],
    crop_box: [0, 0, width, height],
    ...extra,
  };
}

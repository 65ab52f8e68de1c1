/**
 * Box geometry of automatic mask generation, as segment-anything's amg.py and torchvision define it:
 * box IoU and greedy NMS, the crop boxes of each crop layer, the crop-edge filter and NMS across crops.
 */

export type BoxXyxy = [number, number, number, number];

export interface CropBox {
  /** x0, y0, x1, y1 in image pixels (x1, y1 exclusive). */
  box: BoxXyxy;
  layer: number;
}

/** torchvision `box_iou` for xyxy boxes (no +1; a zero-area pair gives 0/0, which never suppresses). */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return inter / union;
}

/**
 * torchvision `nms`: greedy by descending score (stable on ties), drops boxes with IoU > threshold
 * to a kept one. Returns kept indices in descending score order.
 */
export function boxNms(
  boxes: readonly (readonly number[])[],
  scores: readonly number[],
  iouThreshold: number,
): number[] {
  const order = scores.map((_, i) => i).sort((i, j) => scores[j] - scores[i] || i - j);
  const suppressed = new Uint8Array(boxes.length);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    keep.push(i);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj];
      if (!suppressed[j] && boxIou(boxes[i], boxes[j]) > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

/**
 * `generate_crop_boxes`: the whole image (layer 0), then for layer i ≥ 1 a 2^i × 2^i grid of crops
 * overlapping by int(ratio · short side · 2 / 2^i) pixels, x0 varying slowest (itertools.product order).
 */
export function generateCropBoxes(height: number, width: number, nLayers: number, overlapRatio: number): CropBox[] {
  const crops: CropBox[] = [{ box: [0, 0, width, height], layer: 0 }];
  const shortSide = Math.min(height, width);
  for (let layer = 1; layer <= nLayers; layer++) {
    const perSide = 2 ** layer;
    const overlap = Math.trunc(overlapRatio * shortSide * (2 / perSide));
    const cropLength = (length: number) => Math.ceil((overlap * (perSide - 1) + length) / perSide);
    const cropW = cropLength(width);
    const cropH = cropLength(height);
    for (let i = 0; i < perSide; i++) {
      for (let j = 0; j < perSide; j++) {
        const x0 = (cropW - overlap) * i;
        const y0 = (cropH - overlap) * j;
        crops.push({ box: [x0, y0, Math.min(x0 + cropW, width), Math.min(y0 + cropH, height)], layer });
      }
    }
  }
  return crops;
}

/** `build_all_layer_point_grids`: points per side of each layer, int(n / factor^i). */
export function layerPointsPerSide(pointsPerSide: number, nLayers: number, downscaleFactor: number): number[] {
  return Array.from({ length: nLayers + 1 }, (_, layer) => Math.trunc(pointsPerSide / downscaleFactor ** layer));
}

/**
 * `is_box_near_crop_edge`: a full-frame box lies within `atol` pixels of an edge of its crop that is
 * not also an edge of the image (such masks are likely cut off by the crop).
 */
export function isBoxNearCropEdge(
  box: readonly number[],
  cropBox: readonly number[],
  imageBox: readonly number[],
  atol = 20,
): boolean {
  return box.some((v, i) => Math.abs(v - cropBox[i]) <= atol && !(Math.abs(v - imageBox[i]) <= atol));
}

/**
 * Duplicate removal between crops: box NMS scored by 1 / crop area, so the mask from the smaller crop
 * (seen at a higher resolution) wins. Returns kept indices, smaller crops first.
 */
export function nmsAcrossCrops(
  boxes: readonly BoxXyxy[],
  cropBoxes: readonly BoxXyxy[],
  iouThreshold: number,
): number[] {
  return boxNms(
    boxes,
    cropBoxes.map(([x0, y0, x1, y1]) => 1 / ((x1 - x0) * (y1 - y0))),
    iouThreshold,
  );
}

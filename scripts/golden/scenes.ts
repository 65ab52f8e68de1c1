// Seeded synthetic COCO-panoptic ground truth and predictions, for the evaluator's golden cases and benchmark.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import type { Category, PanopticAnnotation, SegmentInfo } from '../../src/core/panoptic';
import { encodeIdMap, VOID_ID } from '../../src/core/panoptic';
import type { Rng } from '../../src/core/rng';

/** Things 1–4 and stuff 10–13; bicycle (4) and wall (13) never occur, so they stay out of the averages. */
export const CATEGORIES: Category[] = [
  { id: 1, name: 'person', isthing: true },
  { id: 2, name: 'car', isthing: true },
  { id: 3, name: 'dog', isthing: true },
  { id: 4, name: 'bicycle', isthing: true },
  { id: 10, name: 'sky', isthing: false },
  { id: 11, name: 'grass', isthing: false },
  { id: 12, name: 'road', isthing: false },
  { id: 13, name: 'wall', isthing: false },
];
const OCCURRING_THINGS = [1, 2, 3];
const OCCURRING_STUFF = [10, 11, 12];

/** An id map being painted, with the category (and crowd flag) of every id used. */
export class Canvas {
  readonly ids: Uint32Array;
  private readonly info = new Map<number, { category_id: number; iscrowd: number }>();

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly rng: Rng,
  ) {
    this.ids = new Uint32Array(width * height);
  }

  /** A fresh random 24-bit id, so that R, G and B all carry id bits. */
  newSegment(categoryId: number, iscrowd = 0): number {
    let id: number;
    do id = this.rng.int(1, (1 << 24) - 1);
    while (this.info.has(id));
    this.info.set(id, { category_id: categoryId, iscrowd });
    return id;
  }

  rect(x0: number, y0: number, x1: number, y1: number, id: number): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y1); y++) {
      this.ids.fill(id, y * this.width + Math.max(0, x0), y * this.width + Math.min(this.width, x1));
    }
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, id: number): void {
    for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(this.height - 1, Math.ceil(cy + ry)); y++) {
      for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(this.width - 1, Math.ceil(cx + rx)); x++) {
        if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) this.ids[y * this.width + x] = id;
      }
    }
  }

  /** Segments still visible after painting, in creation order, with their pixel areas. */
  segments(withGtFields: boolean): SegmentInfo[] {
    const area = new Map<number, number>();
    // Counted per run of equal ids: a per-pixel Map update makes 640x480 maps slow to generate.
    const ids = this.ids;
    for (let start = 0, i = 1; i <= ids.length; i++) {
      if (i < ids.length && ids[i] === ids[start]) continue;
      if (ids[start] !== VOID_ID) area.set(ids[start], (area.get(ids[start]) ?? 0) + i - start);
      start = i;
    }
    const out: SegmentInfo[] = [];
    for (const [id, { category_id, iscrowd }] of this.info) {
      const pixels = area.get(id);
      if (pixels === undefined) continue;
      out.push(withGtFields ? { id, category_id, iscrowd, area: pixels } : { id, category_id });
    }
    return out;
  }
}

export interface ScenePair {
  gt: Canvas;
  pred: Canvas;
}

/**
 * A street-like scene: stuff bands, thing ellipses, maybe a crowd box and void patches; the
 * prediction jitters, drops, relabels and splits them and adds false positives on void and crowd.
 */
export function randomScene(rng: Rng, width: number, height: number, thingCount: number): ScenePair {
  const gt = new Canvas(width, height, rng);
  const pred = new Canvas(width, height, rng);
  const other = (ids: number[], not: number) => rng.pick(ids.filter((c) => c !== not));

  const horizon = rng.int(Math.floor(height / 4), Math.floor((3 * height) / 4));
  const [top, bottom] = rng.shuffle([...OCCURRING_STUFF]).slice(0, 2);
  gt.rect(0, 0, width, horizon, gt.newSegment(top));
  gt.rect(0, horizon, width, height, gt.newSegment(bottom));
  const predHorizon = horizon + rng.int(-3, 3);
  const predTop = rng.next() < 0.2 ? other(OCCURRING_STUFF, top) : top;
  if (rng.next() < 0.3) {
    // Split the top band into two segments of one category: the smaller may become an FP.
    const split = rng.int(Math.floor(width / 5), Math.floor((4 * width) / 5));
    pred.rect(0, 0, split, predHorizon, pred.newSegment(predTop));
    pred.rect(split, 0, width, predHorizon, pred.newSegment(predTop));
  } else {
    pred.rect(0, 0, width, predHorizon, pred.newSegment(predTop));
  }
  pred.rect(0, predHorizon, width, height, pred.newSegment(bottom));

  let crowd: { box: [number, number, number, number]; category: number } | undefined;
  if (rng.next() < 0.6) {
    const x0 = rng.int(0, Math.floor(width / 2));
    const y0 = rng.int(0, Math.floor(height / 2));
    crowd = {
      box: [x0, y0, x0 + rng.int(6, Math.floor(width / 3)), y0 + rng.int(6, Math.floor(height / 3))],
      category: rng.pick(OCCURRING_THINGS),
    };
    gt.rect(...crowd.box, gt.newSegment(crowd.category, 1));
  }

  const radius = Math.max(3, Math.min(width, height) / Math.sqrt(thingCount) / 2.5);
  for (let i = 0; i < thingCount; i++) {
    const category = rng.pick(OCCURRING_THINGS);
    const cx = rng.uniform(0, width);
    const cy = rng.uniform(0, height);
    const rx = radius * rng.uniform(0.5, 1.5);
    const ry = radius * rng.uniform(0.5, 1.5);
    gt.ellipse(cx, cy, rx, ry, gt.newSegment(category));
    if (rng.next() < 0.15) continue;
    const predCategory = rng.next() < 0.85 ? category : other(OCCURRING_THINGS, category);
    const jitter = radius / 3;
    pred.ellipse(
      cx + rng.uniform(-jitter, jitter),
      cy + rng.uniform(-jitter, jitter),
      rx * rng.uniform(0.75, 1.25),
      ry * rng.uniform(0.75, 1.25),
      pred.newSegment(predCategory),
    );
  }

  const voids: [number, number, number, number][] = [];
  for (let i = rng.int(1, 3); i > 0; i--) {
    const x0 = rng.int(0, width - 4);
    const y0 = rng.int(0, height - 4);
    voids.push([x0, y0, x0 + rng.int(4, Math.floor(width / 4)), y0 + rng.int(4, Math.floor(height / 4))]);
    gt.rect(...voids[voids.length - 1], VOID_ID);
  }

  // False positives: one mostly inside a void patch (ignored), one on the crowd box (ignored only if
  // the category agrees), one anywhere (counted); and an unlabeled patch in the prediction.
  const [vx0, vy0, vx1, vy1] = rng.pick(voids);
  pred.rect(vx0 + 1, vy0 + 1, vx1 + rng.int(-1, 3), vy1 + rng.int(-1, 3), pred.newSegment(rng.pick(OCCURRING_THINGS)));
  if (crowd) {
    const [x0, y0, x1, y1] = crowd.box;
    const category = rng.next() < 0.6 ? crowd.category : other(OCCURRING_THINGS, crowd.category);
    pred.rect(x0 + 1, y0 + 1, x1 - 1, y1 + rng.int(-2, 2), pred.newSegment(category));
  }
  pred.ellipse(
    rng.uniform(0, width),
    rng.uniform(0, height),
    radius,
    radius,
    pred.newSegment(rng.pick(OCCURRING_THINGS)),
  );
  if (rng.next() < 0.5) {
    const x0 = rng.int(0, width - 4);
    const y0 = rng.int(0, height - 4);
    pred.rect(x0, y0, x0 + rng.int(3, Math.floor(width / 5)), y0 + rng.int(3, Math.floor(height / 5)), VOID_ID);
  }
  return { gt, pred };
}

export interface SceneImage {
  imageId: number | string;
  name: string;
  scene: ScenePair;
  /** 4 writes the prediction as RGBA. */
  predChannels?: 3 | 4;
}

export interface CaseAnnotations {
  gt: PanopticAnnotation[];
  pred: PanopticAnnotation[];
}

/** Writes the PNGs of some images into dir/gt/ and dir/pred/ and returns their annotations. */
export function writeScenePngs(dir: string, images: readonly SceneImage[]): CaseAnnotations {
  for (const side of ['gt', 'pred'] as const) mkdirSync(path.join(dir, side), { recursive: true });
  const annotations: CaseAnnotations = { gt: [], pred: [] };
  for (const { imageId, name, scene, predChannels = 3 } of images) {
    const fileName = `${name}.png`;
    writeFileSync(path.join(dir, 'gt', fileName), pngOf(scene.gt, 3));
    writeFileSync(path.join(dir, 'pred', fileName), pngOf(scene.pred, predChannels));
    annotations.gt.push({ image_id: imageId, file_name: fileName, segments_info: scene.gt.segments(true) });
    annotations.pred.push({ image_id: imageId, file_name: fileName, segments_info: scene.pred.segments(false) });
  }
  return annotations;
}

/** Writes dir/gt.json (with the categories, isthing as 0/1 like COCO) and dir/pred.json. */
export function writeCaseJsons(dir: string, annotations: CaseAnnotations): void {
  const categories = CATEGORIES.map(({ id, name, isthing }) => ({ id, name, isthing: isthing ? 1 : 0 }));
  writeFileSync(path.join(dir, 'gt.json'), JSON.stringify({ annotations: annotations.gt, categories }));
  writeFileSync(path.join(dir, 'pred.json'), JSON.stringify({ annotations: annotations.pred }));
}

function pngOf(canvas: Canvas, channels: 3 | 4): Uint8Array {
  const rgb = encodeIdMap(canvas.ids);
  let data = rgb;
  if (channels === 4) {
    // Alpha varies on purpose: panopticapi reads only R, G and B.
    data = new Uint8Array(canvas.ids.length * 4);
    for (let i = 0; i < canvas.ids.length; i++) {
      data.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
      data[4 * i + 3] = 128 + (i % 128);
    }
  }
  return encodePng({ width: canvas.width, height: canvas.height, data, channels, depth: 8 });
}

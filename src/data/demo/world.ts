/**
 * The demo world: seeded synthetic panoptic scenes small enough to train on in a browser.
 *
 * Stuff (sky, grass, water, wall, floor, sand) fills the background, each with its own colour and
 * texture; things are painted over it back to front (lower in the image = closer), so they occlude
 * each other. Every thing class has a colour, a texture and a shape of its own, because the tiny
 * CLIP trained on this world learns colour and texture: a red striped ball, a yellow sunburst star,
 * a blue banded ring, a green checkered box, a purple dotted triangle, an orange zigzag kite (rare)
 * and a gold rimmed coin (always small). Sizes vary from a few pixels to a third of the image.
 *
 * Segment ids are category_id × 1000 + instance (stuff: instance 0), which is also the simple
 * layout's convention, and reach past 65535 so masks exercise all three RGB bytes.
 */
import type { Rng } from '../../core/rng';
import type { Category, SegmentInfo } from '../../core/panoptic';
import { measureSegments } from '../validate';

type Rgb = [number, number, number];

export const DEMO_CATEGORIES: Category[] = [
  { id: 1, name: 'ball', isthing: true, color: [220, 40, 40], synonyms: ['ball', 'red striped ball'] },
  { id: 2, name: 'star', isthing: true, color: [250, 210, 30], synonyms: ['star', 'yellow star'] },
  { id: 3, name: 'ring', isthing: true, color: [40, 80, 220], synonyms: ['ring', 'blue ring'] },
  { id: 4, name: 'box', isthing: true, color: [40, 160, 60], synonyms: ['box', 'green checkered box'] },
  { id: 5, name: 'triangle', isthing: true, color: [140, 60, 180], synonyms: ['triangle', 'purple dotted triangle'] },
  { id: 6, name: 'kite', isthing: true, color: [250, 140, 20], synonyms: ['kite', 'orange zigzag kite'] },
  { id: 7, name: 'coin', isthing: true, color: [210, 170, 50], synonyms: ['coin', 'small gold coin'] },
  { id: 101, name: 'sky', isthing: false, color: [125, 185, 240], synonyms: ['sky'] },
  { id: 102, name: 'grass', isthing: false, color: [60, 150, 50], synonyms: ['grass', 'lawn'] },
  { id: 103, name: 'water', isthing: false, color: [40, 100, 170], synonyms: ['water', 'sea'] },
  { id: 104, name: 'wall', isthing: false, color: [190, 170, 150], synonyms: ['wall', 'brick wall'] },
  { id: 105, name: 'floor', isthing: false, color: [140, 95, 55], synonyms: ['floor', 'wooden floor'] },
  { id: 106, name: 'sand', isthing: false, color: [220, 195, 140], synonyms: ['sand', 'beach'] },
];

const ID_PER_CATEGORY = 1000;
const SKY = 101;
const GRASS = 102;
const WATER = 103;
const WALL = 104;
const FLOOR = 105;
const SAND = 106;

export interface DemoImage {
  width: number;
  height: number;
  /** Interleaved RGB, row-major (HWC). */
  rgb: Uint8Array;
  /** Segment id of every pixel; 0 never occurs (every pixel belongs to a segment). */
  ids: Uint32Array;
  /** Segments present in `ids`, with measured area and bbox, ordered by id. */
  segments: SegmentInfo[];
}

/** Integer hash of a pixel and a per-image key, for texture noise that needs no state. */
function hash(x: number, y: number, key: number): number {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ key;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Smooth value noise in [0, 1) with cells of `cell` pixels. */
function valueNoise(x: number, y: number, cell: number, key: number): number {
  const gx = x / cell;
  const gy = y / cell;
  const x0 = Math.floor(gx);
  const y0 = Math.floor(gy);
  const tx = gx - x0;
  const ty = gy - y0;
  const sx = tx * tx * (3 - 2 * tx);
  const sy = ty * ty * (3 - 2 * ty);
  const top = hash(x0, y0, key) * (1 - sx) + hash(x0 + 1, y0, key) * sx;
  const bottom = hash(x0, y0 + 1, key) * (1 - sx) + hash(x0 + 1, y0 + 1, key) * sx;
  return top * (1 - sy) + bottom * sy;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function shade(c: Rgb, f: number): Rgb {
  return [c[0] * f, c[1] * f, c[2] * f];
}

/** Colour of a stuff pixel: each class has its own base colour and texture. */
function stuffColor(category: number, x: number, y: number, horizon: number, key: number): Rgb {
  switch (category) {
    case SKY: {
      // Brighter towards the horizon, with soft white clouds.
      const base = mix([95, 160, 235], [200, 225, 250], Math.min(1, y / Math.max(1, horizon)));
      const cloud = valueNoise(x, y * 2, 24, key ^ 0x51);
      return cloud > 0.62 ? mix(base, [250, 250, 252], Math.min(1, (cloud - 0.62) * 5)) : base;
    }
    case GRASS: {
      // Vertical blades: per-column brightness, broken every few rows.
      const blade = hash(x, Math.floor(y / 4), key ^ 0x9a);
      return shade([60, 150, 50], 0.7 + 0.5 * blade);
    }
    case WATER: {
      // Horizontal waves with light crests.
      const wave = Math.sin(y * 0.9 + Math.sin(x * 0.12) * 2.2);
      return wave > 0.75 ? [120, 175, 225] : shade([40, 100, 170], 0.9 + 0.1 * wave);
    }
    case WALL: {
      // Bricks 24×12 in running bond, light mortar lines.
      const row = Math.floor(y / 12);
      const bx = (x + (row % 2) * 12) % 24;
      if (y % 12 < 2 || bx < 2) return [232, 226, 214];
      return shade([190, 120, 95], 0.9 + 0.2 * hash(Math.floor((x + (row % 2) * 12) / 24), row, key ^ 0x3c));
    }
    case FLOOR: {
      // Wooden planks 16 px high with grain and dark seams.
      const plank = Math.floor(y / 16);
      if (y % 16 === 0) return [70, 45, 25];
      const grain = Math.sin(x * 0.35 + 6 * valueNoise(x, y, 9, key ^ plank));
      return shade([140, 95, 55], 0.85 + 0.12 * grain + 0.1 * hash(plank, 0, key ^ 0x77));
    }
    default: {
      // Sand: fine speckle with occasional dark grains.
      const n = hash(x, y, key ^ 0x5a);
      return n > 0.97 ? [150, 120, 80] : shade([220, 195, 140], 0.92 + 0.12 * n);
    }
  }
}

interface Thing {
  category: number;
  cx: number;
  cy: number;
  /** Radius in pixels of the shape's unit circle. */
  r: number;
  angle: number;
  /** Per-instance brightness, so instances of a class differ a little. */
  tint: number;
}

const STAR = (() => {
  const points: [number, number][] = [];
  for (let i = 0; i < 10; i++) {
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    const rr = i % 2 === 0 ? 1 : 0.45;
    points.push([rr * Math.cos(a), rr * Math.sin(a)]);
  }
  return points;
})();

const TRIANGLE: [number, number][] = [0, 1, 2].map((i) => {
  const a = -Math.PI / 2 + (i * 2 * Math.PI) / 3;
  return [Math.cos(a), Math.sin(a)];
});

function insidePolygon(u: number, v: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The colour of a thing at local coordinates (u, v) in its unit frame, or null outside its shape. */
function thingColor(category: number, u: number, v: number): Rgb | null {
  const r = Math.hypot(u, v);
  switch (category) {
    case 1: // ball: red with white horizontal stripes
      if (r >= 1) return null;
      return Math.floor((v + 1) * 3) % 2 === 0 ? [220, 40, 40] : [245, 232, 232];
    case 2: {
      // star: yellow with an orange sunburst
      if (!insidePolygon(u, v, STAR)) return null;
      const ray = Math.floor(((Math.atan2(v, u) + Math.PI) * 10) / Math.PI) % 2;
      return ray === 0 ? [250, 210, 30] : [240, 165, 20];
    }
    case 3: // ring: blue with concentric light bands
      if (r >= 1 || r <= 0.55) return null;
      return Math.floor(r * 14) % 2 === 0 ? [40, 80, 220] : [110, 150, 250];
    case 4: // box: green checkerboard
      if (Math.abs(u) >= 0.78 || Math.abs(v) >= 0.78) return null;
      return (Math.floor((u + 0.78) * 2.6) + Math.floor((v + 0.78) * 2.6)) % 2 === 0 ? [40, 160, 60] : [15, 80, 25];
    case 5: {
      // triangle: purple with pale dots on a grid
      if (!insidePolygon(u, v, TRIANGLE)) return null;
      const du = u * 3.5 - Math.round(u * 3.5);
      const dv = v * 3.5 - Math.round(v * 3.5);
      return du * du + dv * dv < 0.09 ? [228, 205, 245] : [140, 60, 180];
    }
    case 6: {
      // kite: orange diamond with dark zigzag stripes
      if (Math.abs(u) / 0.6 + Math.abs(v) >= 1) return null;
      const zig = Math.abs(((u * 5) % 2) - 1) * 0.35;
      return Math.floor((v + 1 + zig) * 4) % 2 === 0 ? [250, 140, 20] : [195, 55, 10];
    }
    default: // coin: gold disc with a darker rim
      if (r >= 1) return null;
      return r > 0.72 ? [150, 110, 20] : [215, 175, 55];
  }
}

/** How often each thing class is drawn, and its size range as a fraction of the image's shorter side. */
const THING_KINDS: { category: number; weight: number; size: [number, number] }[] = [
  { category: 1, weight: 20, size: [0.05, 0.3] },
  { category: 2, weight: 18, size: [0.06, 0.3] },
  { category: 3, weight: 18, size: [0.06, 0.28] },
  { category: 4, weight: 18, size: [0.05, 0.3] },
  { category: 5, weight: 16, size: [0.06, 0.3] },
  { category: 6, weight: 2, size: [0.12, 0.3] },
  { category: 7, weight: 8, size: [0.02, 0.045] },
];
const TOTAL_WEIGHT = THING_KINDS.reduce((s, k) => s + k.weight, 0);

function pickThing(rng: Rng, width: number, height: number): Thing {
  let w = rng.next() * TOTAL_WEIGHT;
  let kind = THING_KINDS[THING_KINDS.length - 1];
  for (const k of THING_KINDS) {
    if (w < k.weight) {
      kind = k;
      break;
    }
    w -= k.weight;
  }
  const side = Math.min(width, height);
  // Log-uniform sizes: as many small things as large ones.
  const r = side * Math.exp(rng.uniform(Math.log(kind.size[0]), Math.log(kind.size[1])));
  return {
    category: kind.category,
    cx: rng.uniform(0, width),
    cy: rng.uniform(height * 0.15, height),
    r: Math.max(r, 2.5),
    angle: rng.uniform(0, 2 * Math.PI),
    tint: rng.uniform(0.85, 1.1),
  };
}

/** Generates one scene; every random choice comes from `rng`, so equal states give equal bytes. */
export function generateDemoImage(rng: Rng, size: { width: number; height: number }): DemoImage {
  const { width, height } = size;
  const key = rng.nextUint32() | 0;
  const ids = new Uint32Array(width * height);
  const rgb = new Uint8Array(width * height * 3);
  const light = rng.uniform(0.88, 1.12);

  // Background: outdoor (sky over water/sand/grass) or indoor (wall over floor, sometimes a window).
  const outdoor = rng.next() < 0.7;
  const horizon = height * rng.uniform(0.25, 0.55);
  const waveAmp = outdoor ? height * rng.uniform(0, 0.05) : 0;
  const wavePhase = rng.uniform(0, 2 * Math.PI);
  const ground = rng.next() < 0.5 ? GRASS : SAND;
  const sea = outdoor && rng.next() < 0.45;
  const shore = horizon + height * rng.uniform(0.1, 0.25);
  const hasWindow = !outdoor && rng.next() < 0.4;
  const win = {
    x0: width * rng.uniform(0.1, 0.5),
    y0: horizon * rng.uniform(0.15, 0.35),
    w: width * rng.uniform(0.15, 0.35),
    h: horizon * rng.uniform(0.35, 0.55),
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const line = horizon + waveAmp * Math.sin((x / width) * 2 * Math.PI * 1.5 + wavePhase);
      let category: number;
      if (outdoor)
        category = y < line ? SKY : sea && y < shore + waveAmp * Math.sin(x * 0.03 + wavePhase) ? WATER : ground;
      else if (y >= line) category = FLOOR;
      else category = hasWindow && x >= win.x0 && x < win.x0 + win.w && y >= win.y0 && y < win.y0 + win.h ? SKY : WALL;
      const i = y * width + x;
      ids[i] = category * ID_PER_CATEGORY;
      writeColor(rgb, i, stuffColor(category, x, y, line, key), light, hash(x, y, key ^ 0x1234));
    }
  }

  // Things, painted from far (top) to near (bottom) so nearer ones occlude.
  const things = Array.from({ length: rng.int(1, 6) }, () => pickThing(rng, width, height)).sort((a, b) => a.cy - b.cy);
  const instances = new Map<number, number>();
  for (const t of things) {
    const instance = (instances.get(t.category) ?? 0) + 1;
    instances.set(t.category, instance);
    const id = t.category * ID_PER_CATEGORY + instance;
    const cos = Math.cos(t.angle);
    const sin = Math.sin(t.angle);
    const x0 = Math.max(0, Math.floor(t.cx - t.r));
    const x1 = Math.min(width - 1, Math.ceil(t.cx + t.r));
    const y0 = Math.max(0, Math.floor(t.cy - t.r));
    const y1 = Math.min(height - 1, Math.ceil(t.cy + t.r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = (x + 0.5 - t.cx) / t.r;
        const dy = (y + 0.5 - t.cy) / t.r;
        const color = thingColor(t.category, cos * dx + sin * dy, -sin * dx + cos * dy);
        if (!color) continue;
        const i = y * width + x;
        ids[i] = id;
        writeColor(rgb, i, color, light * t.tint, hash(x, y, key ^ 0x4321));
      }
    }
  }
  return { width, height, rgb, ids, segments: segmentsOf(ids, width) };
}

/** Writes a colour with scene lighting and ±6 levels of sensor noise. */
function writeColor(rgb: Uint8Array, pixel: number, c: Rgb, light: number, noise: number): void {
  const n = (noise - 0.5) * 12;
  const p = pixel * 3;
  rgb[p] = clampByte(c[0] * light + n);
  rgb[p + 1] = clampByte(c[1] * light + n);
  rgb[p + 2] = clampByte(c[2] * light + n);
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Segments actually visible (fully occluded things drop out), with area and bbox, ordered by id. */
function segmentsOf(ids: Uint32Array, width: number): SegmentInfo[] {
  return [...measureSegments(ids, width)]
    .sort(([a], [b]) => a - b)
    .map(([id, m]) => ({ id, category_id: Math.floor(id / ID_PER_CATEGORY), area: m.area, bbox: m.bbox, iscrowd: 0 }));
}

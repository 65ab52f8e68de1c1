/**
 * Offline fallback for stage 1 when no SAM weights are available: Felzenszwalb–Huttenlocher
 * graph-based segmentation (IJCV 2004) on colour, pure TypeScript. Pixels are nodes, 8-neighbour
 * edges weighted by the RGB distance after Gaussian smoothing; edges are merged in increasing weight
 * while w ≤ min(Int(C1) + k/|C1|, Int(C2) + k/|C2|); then components below minSize are merged into a
 * neighbour. Every component becomes one MaskRecord with source 'fallback' (no IoU or stability score).
 */
import type { MaskRecord } from './maskRecord';
import { compressCounts } from './rle';

export interface FelzenszwalbOptions {
  /** k: larger → larger segments (0..255 colour units). */
  scale: number;
  /** Gaussian smoothing before building the graph. */
  sigma: number;
  /** Components smaller than this many pixels are merged into a neighbour. */
  minSize: number;
}

export const DEFAULT_FELZENSZWALB_OPTIONS: FelzenszwalbOptions = { scale: 300, sigma: 0.8, minSize: 100 };

/** Separable Gaussian blur of packed float channels (clamped edges), radius ceil(4σ) as the reference code. */
function gaussianBlur(src: Float32Array, width: number, height: number, channels: number, sigma: number): Float32Array {
  if (sigma <= 0) return src;
  const radius = Math.ceil(4 * sigma);
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = -radius; t <= radius; t++) {
          const xx = Math.min(width - 1, Math.max(0, x + t));
          acc += kernel[t + radius] * src[(y * width + xx) * channels + c];
        }
        tmp[(y * width + x) * channels + c] = acc;
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = -radius; t <= radius; t++) {
          const yy = Math.min(height - 1, Math.max(0, y + t));
          acc += kernel[t + radius] * tmp[(yy * width + x) * channels + c];
        }
        out[(y * width + x) * channels + c] = acc;
      }
    }
  }
  return out;
}

/** Union–find with union by rank and path halving; `size` and `threshold` live at the roots. */
class DisjointSet {
  readonly parent: Int32Array;
  readonly rank: Uint8Array;
  readonly size: Int32Array;
  readonly threshold: Float64Array;

  constructor(n: number, initialThreshold: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.rank = new Uint8Array(n);
    this.size = new Int32Array(n).fill(1);
    this.threshold = new Float64Array(n).fill(initialThreshold);
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }

  /** Joins two roots; returns the new root. */
  join(a: number, b: number): number {
    if (this.rank[a] < this.rank[b]) [a, b] = [b, a];
    this.parent[b] = a;
    this.size[a] += this.size[b];
    if (this.rank[a] === this.rank[b]) this.rank[a]++;
    return a;
  }
}

/** Component label per pixel (0..n−1, numbered in first-seen row-major order) and the count. */
export function felzenszwalbLabels(
  rgba: ArrayLike<number>,
  width: number,
  height: number,
  options: Partial<FelzenszwalbOptions> = {},
): { labels: Int32Array; count: number } {
  const { scale, sigma, minSize } = { ...DEFAULT_FELZENSZWALB_OPTIONS, ...options };
  const n = width * height;
  const rgb = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = rgba[i * 4 + c];
  const smooth = gaussianBlur(rgb, width, height, 3, sigma);

  // 8-connectivity with each edge once: right, down, down-right, up-right
  const maxEdges = n * 4;
  const from = new Int32Array(maxEdges);
  const to = new Int32Array(maxEdges);
  const weight = new Float32Array(maxEdges);
  let m = 0;
  const addEdge = (a: number, b: number) => {
    const dr = smooth[a * 3] - smooth[b * 3];
    const dg = smooth[a * 3 + 1] - smooth[b * 3 + 1];
    const db = smooth[a * 3 + 2] - smooth[b * 3 + 2];
    from[m] = a;
    to[m] = b;
    weight[m++] = Math.sqrt(dr * dr + dg * dg + db * db);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (x + 1 < width) addEdge(i, i + 1);
      if (y + 1 < height) addEdge(i, i + width);
      if (x + 1 < width && y + 1 < height) addEdge(i, i + width + 1);
      if (x + 1 < width && y > 0) addEdge(i, i - width + 1);
    }
  }
  const order = Uint32Array.from({ length: m }, (_, i) => i).sort((a, b) => weight[a] - weight[b]);

  const sets = new DisjointSet(n, scale);
  for (let e = 0; e < m; e++) {
    const k = order[e];
    const a = sets.find(from[k]);
    const b = sets.find(to[k]);
    if (a === b) continue;
    const w = weight[k];
    if (w <= sets.threshold[a] && w <= sets.threshold[b]) {
      const root = sets.join(a, b);
      sets.threshold[root] = w + scale / sets.size[root];
    }
  }
  for (let e = 0; e < m; e++) {
    const k = order[e];
    const a = sets.find(from[k]);
    const b = sets.find(to[k]);
    if (a !== b && (sets.size[a] < minSize || sets.size[b] < minSize)) sets.join(a, b);
  }

  const labels = new Int32Array(n);
  const labelOfRoot = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const root = sets.find(i);
    let label = labelOfRoot.get(root);
    if (label === undefined) {
      label = labelOfRoot.size;
      labelOfRoot.set(root, label);
    }
    labels[i] = label;
  }
  return { labels, count: labelOfRoot.size };
}

/**
 * One MaskRecord per component (largest first), with RLEs built for all components in a single
 * column-major pass over the label map.
 */
export function labelsToMaskRecords(labels: Int32Array, count: number, width: number, height: number): MaskRecord[] {
  const counts: number[][] = Array.from({ length: count }, () => []);
  // end (exclusive, column-major index) of each label's last ones-run, and its open run length
  const lastEnd = new Float64Array(count);
  const runLength = new Float64Array(count);
  const area = new Float64Array(count);
  const x1 = new Int32Array(count).fill(width);
  const y1 = new Int32Array(count).fill(height);
  const x2 = new Int32Array(count).fill(-1);
  const y2 = new Int32Array(count).fill(-1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const p = x * height + y;
      const l = labels[y * width + x];
      if (runLength[l] > 0 && lastEnd[l] === p) {
        runLength[l]++;
      } else {
        if (runLength[l] > 0) counts[l].push(runLength[l]);
        counts[l].push(p - lastEnd[l]);
        runLength[l] = 1;
      }
      lastEnd[l] = p + 1;
      area[l]++;
      if (x < x1[l]) x1[l] = x;
      x2[l] = x;
      if (y < y1[l]) y1[l] = y;
      if (y > y2[l]) y2[l] = y;
    }
  }
  const records: MaskRecord[] = [];
  for (let l = 0; l < count; l++) {
    const c = counts[l];
    c.push(runLength[l]);
    const trailing = width * height - lastEnd[l];
    if (trailing > 0) c.push(trailing);
    records.push({
      segmentation: { size: [height, width], counts: compressCounts(c) },
      area: area[l],
      bbox: [x1[l], y1[l], x2[l] - x1[l], y2[l] - y1[l]],
      predicted_iou: null,
      stability_score: null,
      point_coords: [],
      crop_box: [0, 0, width, height],
      source: 'fallback',
    });
  }
  return records.sort((a, b) => b.area - a.area);
}

/** The fallback segmenter: RGBA pixels → class-agnostic mask records (source 'fallback'). */
export function felzenszwalbMasks(
  rgba: ArrayLike<number>,
  width: number,
  height: number,
  options: Partial<FelzenszwalbOptions> = {},
): MaskRecord[] {
  const { labels, count } = felzenszwalbLabels(rgba, width, height, options);
  return labelsToMaskRecords(labels, count, width, height);
}

/**
 * Pixel counts of (gt id, pred id) pairs, the one quantity PQ needs from two id maps: from whole id
 * maps (countPairs) or row by row from decoded PNG rows (PairCounter).
 */
import { DearliError } from './errors';

/** Ids pack into one number as gtId · ID_LIMIT + predId; RGB ids stay below 2^24. */
export const ID_LIMIT = 1 << 24;

/** Pixels per (gt id, pred id) pair, keyed by pairKey. */
export type PairCounts = Map<number, number>;

/** Key of a (gt id, pred id) pair in PairCounts. */
export function pairKey(gtId: number, predId: number): number {
  return gtId * ID_LIMIT + predId;
}

/**
 * Pixel count of every (gt id, pred id) pair. Neighbouring pixels mostly share both ids, so runs
 * are counted first and the map is touched once per run; the hot loop has no closure or branch
 * beyond the run test, which keeps it near a plain scan.
 */
export function countPairs(gtIds: Uint32Array, predIds: Uint32Array, gtFile: string, predFile: string): PairCounts {
  const pairs = new Map<number, number>();
  const n = gtIds.length;
  if (n === 0) return pairs;
  let runGt = gtIds[0];
  let runPred = predIds[0];
  let runStart = 0;
  for (let i = 1; i < n; i++) {
    const g = gtIds[i];
    const p = predIds[i];
    if (g === runGt && p === runPred) continue;
    addRun(pairs, runGt, runPred, i - runStart, gtFile, predFile);
    runGt = g;
    runPred = p;
    runStart = i;
  }
  addRun(pairs, runGt, runPred, n - runStart, gtFile, predFile);
  return pairs;
}

function addRun(
  pairs: PairCounts,
  gtId: number,
  predId: number,
  length: number,
  gtFile: string,
  predFile: string,
): void {
  // Larger ids would not pack exactly into the key (and no PNG can hold them).
  if (gtId >= ID_LIMIT || predId >= ID_LIMIT) {
    const [file, id] = gtId >= ID_LIMIT ? [gtFile, gtId] : [predFile, predId];
    throw new DearliError(
      'eval-bad-segment-id',
      `id map holds ${id}, which is not an RGB-encodable id`,
      'Segment ids must be below 2^24.',
      file,
    );
  }
  const key = pairKey(gtId, predId);
  pairs.set(key, (pairs.get(key) ?? 0) + length);
}

/**
 * Counts (gt id, pred id) pixel pairs row by row straight from decoded 8-bit RGB or RGBA PNG rows
 * (id = R + 256·G + 256²·B, alpha ignored), so that evaluation needs no id maps: each row is read
 * once, while it is still in cache after unfiltering. Runs of equal pairs touch the table once, and a
 * row pair equal to the one before (which the caller checks natively) re-adds that row's runs.
 */
export class PairCounter {
  // The last row's runs: their ids and lengths.
  private readonly runGt: number[] = [];
  private readonly runPred: number[] = [];
  private readonly runLengths: number[] = [];
  // Pixel counts per pair, in the order the pairs first occur (the order of countPairs, so that sums
  // over pairs round alike), found through an open-addressing table of entry index + 1 (0 = free):
  // a Map keyed by gt·2^24 + pred (not a small integer) costs several times more per run.
  private readonly entryGt: number[] = [];
  private readonly entryPred: number[] = [];
  private readonly entryPixels: number[] = [];
  private table = new Int32Array(256);

  constructor(readonly width: number) {}

  /**
   * Adds the row of `width` pixels at gt[gtStart] and pred[predStart] (3 or 4 bytes per pixel each;
   * the views are DataViews over the same bytes). Inner pixels are one little-endian 32-bit read
   * each, its 4th byte masked off (faster than three byte reads); the last pixel is read bytewise, as
   * no byte may follow it. Runs are long (tens of pixels), so four pixels of both maps are compared
   * with the run at once, with one branch: independent reads instead of a branch per pixel, about a
   * quarter faster.
   */
  addRow(
    gt: Uint8Array,
    gtView: DataView,
    gtStart: number,
    gtBytesPerPixel: number,
    pred: Uint8Array,
    predView: DataView,
    predStart: number,
    predBytesPerPixel: number,
  ): void {
    const runGtIds = this.runGt;
    const runPredIds = this.runPred;
    const lengths = this.runLengths;
    runGtIds.length = 0;
    runPredIds.length = 0;
    lengths.length = 0;
    const last = this.width - 1;
    const g1 = gtBytesPerPixel;
    const g2 = 2 * gtBytesPerPixel;
    const g3 = 3 * gtBytesPerPixel;
    const p1 = predBytesPerPixel;
    const p2 = 2 * predBytesPerPixel;
    const p3 = 3 * predBytesPerPixel;
    let runGt = readId(gt, gtStart);
    let runPred = readId(pred, predStart);
    let runStart = 0;
    let g = gtStart + g1;
    let p = predStart + p1;
    let x = 1;
    while (x < last) {
      if (x + 4 <= last) {
        const differs =
          (gtView.getUint32(g, true) ^ runGt) |
          (gtView.getUint32(g + g1, true) ^ runGt) |
          (gtView.getUint32(g + g2, true) ^ runGt) |
          (gtView.getUint32(g + g3, true) ^ runGt) |
          (predView.getUint32(p, true) ^ runPred) |
          (predView.getUint32(p + p1, true) ^ runPred) |
          (predView.getUint32(p + p2, true) ^ runPred) |
          (predView.getUint32(p + p3, true) ^ runPred);
        if ((differs & 0xffffff) === 0) {
          x += 4;
          g += 4 * g1;
          p += 4 * p1;
          continue;
        }
      }
      const gtId = gtView.getUint32(g, true) & 0xffffff;
      const predId = predView.getUint32(p, true) & 0xffffff;
      if (gtId !== runGt || predId !== runPred) {
        runGtIds.push(runGt);
        runPredIds.push(runPred);
        lengths.push(x - runStart);
        runGt = gtId;
        runPred = predId;
        runStart = x;
      }
      x++;
      g += g1;
      p += p1;
    }
    if (last > 0) {
      const gtId = readId(gt, g);
      const predId = readId(pred, p);
      if (gtId !== runGt || predId !== runPred) {
        runGtIds.push(runGt);
        runPredIds.push(runPred);
        lengths.push(last - runStart);
        runGt = gtId;
        runPred = predId;
        runStart = last;
      }
    }
    runGtIds.push(runGt);
    runPredIds.push(runPred);
    lengths.push(this.width - runStart);
    this.repeatRow();
  }

  /** Adds the last row's pixels again: for a row pair equal to the one before. */
  repeatRow(): void {
    const { runGt, runPred, runLengths } = this;
    for (let i = 0; i < runLengths.length; i++) this.add(runGt[i], runPred[i], runLengths[i]);
  }

  /** The counts so far. */
  counts(): PairCounts {
    const pairs: PairCounts = new Map();
    this.entryPixels.forEach((pixels, e) => pairs.set(pairKey(this.entryGt[e], this.entryPred[e]), pixels));
    return pairs;
  }

  private add(gtId: number, predId: number, pixels: number): void {
    const { table, entryGt, entryPred } = this;
    const mask = table.length - 1;
    for (let i = slotOf(gtId, predId, mask); ; i = (i + 1) & mask) {
      const entry = table[i] - 1;
      if (entry < 0) {
        table[i] = entryGt.push(gtId);
        entryPred.push(predId);
        this.entryPixels.push(pixels);
        // At most half full keeps probe sequences short.
        if (entryGt.length * 2 > table.length) this.grow();
        return;
      }
      if (entryGt[entry] === gtId && entryPred[entry] === predId) {
        this.entryPixels[entry] += pixels;
        return;
      }
    }
  }

  private grow(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    this.entryGt.forEach((gtId, e) => {
      let i = slotOf(gtId, this.entryPred[e], mask);
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = e + 1;
    });
    this.table = table;
  }
}

function slotOf(gtId: number, predId: number, mask: number): number {
  const h = Math.imul(gtId, 0x9e3779b1) ^ Math.imul(predId, 0x85ebca77);
  // The product's high bits depend on all of the id's bits: fold them into the low ones.
  return (h ^ (h >>> 15)) & mask;
}

function readId(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
}

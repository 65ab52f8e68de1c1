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
  // The last row's runs: their ids and lengths (a row has at most `width` runs), in typed arrays
  // reused from row to row, so that counting allocates nothing per row.
  private readonly runGt: Int32Array;
  private readonly runPred: Int32Array;
  private readonly runLengths: Int32Array;
  private runCount = 0;
  // Pixel counts per pair, in the order the pairs first occur (the order of countPairs, so that sums
  // over pairs round alike), found through an open-addressing table of entry index + 1 (0 = free):
  // a Map keyed by gt·2^24 + pred (not a small integer) costs several times more per run.
  private readonly entryGt: number[] = [];
  private readonly entryPred: number[] = [];
  private readonly entryPixels: number[] = [];
  private table = new Int32Array(256);

  constructor(readonly width: number) {
    this.runGt = new Int32Array(width);
    this.runPred = new Int32Array(width);
    this.runLengths = new Int32Array(width);
  }

  /**
   * Adds the row of `width` pixels at gt[gtStart] and pred[predStart] (3 or 4 bytes per pixel each;
   * the views are DataViews over the same bytes). Runs are long (tens of pixels), so four pixels of
   * both maps are compared with the run at once, with one branch: the run's four pixels as 32-bit
   * words (three words for RGB, whose 12 bytes repeat the id's 3; four for RGBA, alpha included, so
   * a change of alpha alone only sends those pixels down the slow path), read little-endian and
   * compared without masking. Pixel by pixel, an id is one 32-bit read with its 4th byte masked off;
   * the last pixel is read bytewise, as no byte may follow it.
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
    let runs = 0;
    const last = this.width - 1;
    const gtRgba = gtBytesPerPixel === 4;
    const predRgba = predBytesPerPixel === 4;
    let runGt = readId(gt, gtStart);
    let runPred = readId(pred, predStart);
    let gt0 = firstWord(gtView, gtStart, runGt, gtRgba);
    let gt1 = secondWord(runGt, gt0, gtRgba);
    let gt2 = thirdWord(runGt, gt0, gtRgba);
    let pred0 = firstWord(predView, predStart, runPred, predRgba);
    let pred1 = secondWord(runPred, pred0, predRgba);
    let pred2 = thirdWord(runPred, pred0, predRgba);
    let runStart = 0;
    let g = gtStart + gtBytesPerPixel;
    let p = predStart + predBytesPerPixel;
    let x = 1;
    while (x < last) {
      if (x + 4 <= last) {
        const differs =
          (gtView.getInt32(g, true) ^ gt0) |
          (gtView.getInt32(g + 4, true) ^ gt1) |
          (gtView.getInt32(g + 8, true) ^ gt2) |
          (gtRgba ? gtView.getInt32(g + 12, true) ^ gt0 : 0) |
          (predView.getInt32(p, true) ^ pred0) |
          (predView.getInt32(p + 4, true) ^ pred1) |
          (predView.getInt32(p + 8, true) ^ pred2) |
          (predRgba ? predView.getInt32(p + 12, true) ^ pred0 : 0);
        if (differs === 0) {
          x += 4;
          g += 4 * gtBytesPerPixel;
          p += 4 * predBytesPerPixel;
          continue;
        }
      }
      const gtId = gtView.getUint32(g, true) & 0xffffff;
      const predId = predView.getUint32(p, true) & 0xffffff;
      if (gtId !== runGt || predId !== runPred) {
        runGtIds[runs] = runGt;
        runPredIds[runs] = runPred;
        lengths[runs++] = x - runStart;
        if (gtId !== runGt) {
          gt0 = firstWord(gtView, g, gtId, gtRgba);
          gt1 = secondWord(gtId, gt0, gtRgba);
          gt2 = thirdWord(gtId, gt0, gtRgba);
        }
        if (predId !== runPred) {
          pred0 = firstWord(predView, p, predId, predRgba);
          pred1 = secondWord(predId, pred0, predRgba);
          pred2 = thirdWord(predId, pred0, predRgba);
        }
        runGt = gtId;
        runPred = predId;
        runStart = x;
      }
      x++;
      g += gtBytesPerPixel;
      p += predBytesPerPixel;
    }
    if (last > 0) {
      const gtId = readId(gt, g);
      const predId = readId(pred, p);
      if (gtId !== runGt || predId !== runPred) {
        runGtIds[runs] = runGt;
        runPredIds[runs] = runPred;
        lengths[runs++] = last - runStart;
        runGt = gtId;
        runPred = predId;
        runStart = last;
      }
    }
    runGtIds[runs] = runGt;
    runPredIds[runs] = runPred;
    lengths[runs++] = this.width - runStart;
    this.runCount = runs;
    this.repeatRow();
  }

  /** Adds the last row's pixels again: for a row pair equal to the one before. */
  repeatRow(): void {
    const { runGt, runPred, runLengths, runCount } = this;
    for (let i = 0; i < runCount; i++) this.add(runGt[i], runPred[i], runLengths[i]);
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

/**
 * The 32-bit little-endian words that four pixels of a run read as, as int32s (getInt32): for RGB id
 * c = R + 256·G + 256²·B the 12 bytes R G B R G B R G B R G B, three different words; for RGBA the
 * run's first pixel (at `at`, alpha included) four times.
 */
function firstWord(view: DataView, at: number, id: number, rgba: boolean): number {
  return rgba ? view.getInt32(at, true) : id | (id << 24);
}

function secondWord(id: number, first: number, rgba: boolean): number {
  return rgba ? first : (id >>> 8) | (id << 16);
}

function thirdWord(id: number, first: number, rgba: boolean): number {
  return rgba ? first : (id >>> 16) | (id << 8);
}

function readId(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
}

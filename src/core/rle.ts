/**
 * COCO run-length encoding as pycocotools (maskApi.c) defines it: the mask is scanned in
 * column-major (Fortran) order, counts alternate zeros/ones starting with zeros (a leading 0 when
 * the first pixel is set). The compressed string stores each count (from the fourth on minus the
 * count two places earlier) as little-endian 5-bit groups with a continuation bit (0x20) and a
 * sign bit (0x10) in the last group, each group + 48 as one ASCII character.
 */
import { DearliError } from './errors';
import { LIMITS } from './limits';

const CORRUPT = 'The mask annotation is corrupt: regenerate it.';

function rleError(problem: string, file?: string): DearliError {
  return new DearliError('rle-invalid', problem, CORRUPT, file);
}

/** Uncompressed COCO RLE: size = [height, width]. */
export interface RleCounts {
  size: [number, number];
  counts: number[];
}

/** Compressed COCO RLE, as stored in SA-1B and COCO annotation files. */
export interface CocoRle {
  size: [number, number];
  counts: string;
}

/** Row-major binary mask (any nonzero = set) → uncompressed RLE. */
export function encodeMask(mask: ArrayLike<number>, height: number, width: number): RleCounts {
  if (mask.length !== height * width)
    throw new RangeError(`mask has ${mask.length} pixels, expected ${height}×${width}`);
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Uncompressed RLE → row-major Uint8Array mask (0/1); validated first (see normalizeRle). */
export function decodeMask(rle: RleCounts, file?: string): Uint8Array {
  const { size, counts } = normalizeRle(rle, file);
  const [h, w] = size;
  const mask = new Uint8Array(h * w);
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const end = pos + counts[i];
    if (i % 2 === 1) {
      for (let p = pos; p < end; p++) mask[(p % h) * w + Math.floor(p / h)] = 1;
    }
    pos = end;
  }
  return mask;
}

/** pycocotools `rleToString`. */
export function compressCounts(counts: readonly number[]): string {
  let out = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      // arithmetic shift on the (possibly negative) delta; counts stay far below 2^31
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  }
  return out;
}

/**
 * pycocotools `rleFrString`; throws a DearliError on characters outside the alphabet, a truncated
 * group, or more than `maxCounts` counts (a mask of n pixels has at most n + 1).
 */
export function decompressCounts(s: string, maxCounts = Infinity, file?: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    if (counts.length >= maxCounts)
      throw rleError(`the RLE string holds more than the ${maxCounts} counts its size allows`, file);
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw rleError('the RLE counts string cannot be decoded (it ends inside a count)', file);
      if (k > 10)
        throw rleError(`the RLE counts string cannot be decoded (a count longer than 10 characters at ${p})`, file);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63)
        throw rleError(
          `the RLE counts string cannot be decoded (character ${JSON.stringify(s[p])} at ${p} is outside the 48..111 alphabet)`,
          file,
        );
      // multiply instead of shifting: 5·k reaches past 32 bits for large counts
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

export function toCocoRle(rle: RleCounts): CocoRle {
  return { size: [rle.size[0], rle.size[1]], counts: compressCounts(rle.counts) };
}

export function fromCocoRle(rle: CocoRle): RleCounts {
  return { size: [rle.size[0], rle.size[1]], counts: decompressCounts(rle.counts) };
}

/**
 * Either form → uncompressed counts, validated before anything is decoded: a size of two
 * non-negative integers within LIMITS.imageSide, counts a string or a list of non-negative integers
 * (no more than the pixels allow) that cover exactly h·w pixels.
 */
export function normalizeRle(rle: { size: unknown; counts: unknown }, file?: string): RleCounts {
  const size = rle?.size;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw rleError(`the RLE size ${JSON.stringify(size)?.slice(0, 40)} is not [height, width]`, file);
  }
  const [h, w] = size as [number, number];
  if (h > LIMITS.imageSide || w > LIMITS.imageSide)
    throw rleError(`the RLE size ${h}×${w} exceeds LIMITS.imageSide = ${LIMITS.imageSide} (src/core/limits.ts)`, file);
  const maxCounts = h * w + 1;
  let counts: number[];
  if (typeof rle.counts === 'string') counts = decompressCounts(rle.counts, maxCounts, file);
  else if (Array.isArray(rle.counts)) {
    if (rle.counts.length > maxCounts)
      throw rleError(`the RLE has ${rle.counts.length} counts, more than its ${h}×${w} pixels allow`, file);
    counts = rle.counts as number[];
  } else
    throw rleError(
      `the RLE counts are ${rle.counts === null ? 'null' : typeof rle.counts}, not a string or a list of numbers`,
      file,
    );
  let total = 0;
  for (const c of counts) {
    if (!Number.isSafeInteger(c) || c < 0)
      throw rleError(`the RLE has an invalid count ${JSON.stringify(c)?.slice(0, 40)}`, file);
    total += c;
    if (total > h * w) throw rleError(`the RLE counts run past the ${h}×${w} = ${h * w} pixels of its size`, file);
  }
  if (total !== h * w)
    throw rleError(`the RLE counts cover ${total} pixels, but its size ${h}×${w} has ${h * w}`, file);
  return { size: [h, w], counts };
}

/** pycocotools `area`: the number of set pixels. */
export function rleArea(rle: RleCounts): number {
  let area = 0;
  for (let i = 1; i < rle.counts.length; i += 2) area += rle.counts[i];
  return area;
}

/**
 * pycocotools `toBbox`: [x, y, w, h] with w = x_max − x_min + 1 (inclusive pixels); [0, 0, 0, 0]
 * for an empty mask. A run that wraps to another column spans every row.
 */
export function rleToBbox(rle: RleCounts): [number, number, number, number] {
  const h = rle.size[0];
  const m = rle.counts.length - (rle.counts.length % 2);
  if (m === 0 || rleArea(rle) === 0) return [0, 0, 0, 0];
  let xs = Infinity;
  let ys = Infinity;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += rle.counts[j];
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/** IoU of two same-size masks by walking both run lists (no decoding). */
export function rleIou(a: RleCounts, b: RleCounts): number {
  if (a.size[0] !== b.size[0] || a.size[1] !== b.size[1])
    throw new RangeError(`RLE sizes differ: ${a.size} vs ${b.size}`);
  let intersection = 0;
  let ia = 0;
  let ib = 0;
  let leftA = a.counts[0] ?? 0;
  let leftB = b.counts[0] ?? 0;
  const total = a.size[0] * a.size[1];
  let pos = 0;
  while (pos < total) {
    while (leftA === 0 && ia < a.counts.length - 1) leftA = a.counts[++ia];
    while (leftB === 0 && ib < b.counts.length - 1) leftB = b.counts[++ib];
    const step = Math.min(leftA, leftB);
    if (step === 0) break;
    if (ia % 2 === 1 && ib % 2 === 1) intersection += step;
    leftA -= step;
    leftB -= step;
    pos += step;
  }
  const union = rleArea(a) + rleArea(b) - intersection;
  return union === 0 ? 0 : intersection / union;
}

/**
 * PNG's container in pure JS: every chunk's CRC and order checked, the image data inflated once within a
 * bound the header implies (guarding against DEFLATE bombs), each scanline's filter type checked, and
 * 8-bit RGB(A) panoptic masks read to ids from that same data (src/data/decode.ts uses it for
 * integrity checks and mask decoding).
 */
import { Unzlib, unzlibSync } from 'fflate';
import type { DearliError } from '../core/errors';
import { LIMITS } from '../core/limits';
import { PNG_FILTER_TYPES, unfilterScanline } from '../core/pngScanlines';

export const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** The `length` bytes from `start` as ASCII (chunk and FourCC names). */
export function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

export function u32be(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Samples per pixel of each PNG colour type, and the bit depths the PNG specification allows for it. */
const PNG_COLOR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};

export interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
  /** Concatenated IDAT payloads (views into the file's bytes). */
  idat: Uint8Array[];
  /** Exact size of the inflated IDAT stream (filter bytes and scanlines of every pass). */
  inflatedBytes: number;
}

/** Bytes of the filtered scanlines of a `width`×`height` image (0 for an empty Adam7 pass). */
function scanlineBytes(width: number, height: number, bitsPerPixel: number): number {
  return width === 0 || height === 0 ? 0 : height * (1 + Math.ceil((width * bitsPerPixel) / 8));
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * Walks the PNG chunks before any pixel is inflated: each CRC (so truncation and flipped bits are
 * caught; fast-png's own check is about 50 times slower), IHDR first with a valid, non-zero size
 * within LIMITS.imageSide, at most one PLTE, before the IDATs, present for palette images and absent
 * for grey ones, IDATs consecutive, IEND last. Returns the header and the exact inflated size.
 */
function readPngStructure(bytes: Uint8Array, fail: (detail: string) => DearliError): PngHeader {
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) throw fail('no PNG signature');
  let header: PngHeader | null = null;
  let sawPalette = false;
  let idatState: 'before' | 'in' | 'after' = 'before';
  let pos = 8;
  while (pos + 12 <= bytes.length) {
    const length = u32be(bytes, pos);
    const type = ascii(bytes, pos + 4, 4);
    const end = pos + 8 + length;
    if (end + 4 > bytes.length) throw fail(`chunk ${type} runs past the end of the file`);
    if (crc32(bytes, pos + 4, end) !== u32be(bytes, end)) throw fail(`CRC mismatch in chunk ${type}`);
    if (type === 'IHDR') {
      if (header) throw fail('a second IHDR chunk');
      if (length !== 13) throw fail(`IHDR has ${length} bytes, not 13`);
      const width = u32be(bytes, pos + 8);
      const height = u32be(bytes, pos + 12);
      const [depth, colorType, compression, filter, interlace] = bytes.subarray(pos + 16, pos + 21);
      if (width === 0 || height === 0) throw fail(`its header gives a size of ${width}×${height}`);
      if (width > LIMITS.imageSide || height > LIMITS.imageSide) {
        throw fail(
          `its header gives ${width}×${height} px, more than LIMITS.imageSide = ${LIMITS.imageSide} on a side (src/core/limits.ts); downscale it with nearest-neighbour resampling`,
        );
      }
      const kind = PNG_COLOR_TYPES[colorType];
      if (!kind || !kind.depths.includes(depth))
        throw fail(`colour type ${colorType} with bit depth ${depth} is not a PNG format`);
      if (compression !== 0 || filter !== 0 || interlace > 1)
        throw fail('unknown compression, filter or interlace method in IHDR');
      const bpp = kind.channels * depth;
      const inflatedBytes = interlace
        ? ADAM7.reduce(
            (acc, [x0, y0, dx, dy]) =>
              acc + scanlineBytes(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy), bpp),
            0,
          )
        : scanlineBytes(width, height, bpp);
      header = { width, height, depth, colorType, interlaced: interlace === 1, idat: [], inflatedBytes };
    } else if (!header) {
      throw fail(`the first chunk is ${type}, not IHDR`);
    } else if (type === 'PLTE') {
      if (sawPalette) throw fail('a second PLTE chunk');
      if (idatState !== 'before') throw fail('PLTE after the image data');
      if (header.colorType === 0 || header.colorType === 4) throw fail('a PLTE chunk in a greyscale PNG');
      if (length === 0 || length % 3 !== 0 || length > 768)
        throw fail(`PLTE has ${length} bytes, not 3 per entry (at most 256)`);
      sawPalette = true;
    } else if (type === 'IDAT') {
      if (idatState === 'after') throw fail('IDAT chunks are not consecutive');
      if (header.colorType === 3 && !sawPalette) throw fail('a palette PNG without a PLTE chunk before its image data');
      idatState = 'in';
      header.idat.push(bytes.subarray(pos + 8, end));
    } else if (type === 'IEND') {
      if (idatState === 'before') throw fail('no IDAT chunk');
      return header;
    } else if (idatState === 'in') idatState = 'after';
    pos = end + 4;
  }
  throw fail('the file ends before its IEND chunk');
}

const INFLATE_SLICE = 4096;
/** DEFLATE's largest expansion: 258 bytes from a 2-bit code, about 1032 to 1. */
export const DEFLATE_MAX_RATIO = 1032;
/** Output bytes an IDAT stream may at most amount to for it to be inflated in one call. */
const ONE_CALL_INFLATE_BOUND = 16 * 2 ** 20;

/**
 * The IDAT stream inflated, exactly the size the header implies, or a named error. A stream that
 * cannot produce more than ONE_CALL_INFLATE_BOUND bytes (small images: every mask of a usual
 * dataset) is inflated in one call into a buffer one byte larger than needed, which bounds memory,
 * while its size bounds the work; a larger one is inflated in small slices and stopped as soon as it
 * passes the size, so a few hundred kB of IDAT cannot expand to hundreds of MB. (The sliced inflater
 * allocates and copies a 128 kB window per slice, which cost more than decoding a small mask.)
 */
function inflateIdat(png: PngHeader, fail: (detail: string) => DearliError): Uint8Array {
  const idatBytes = png.idat.reduce((sum, part) => sum + part.length, 0);
  const inflated =
    idatBytes * DEFLATE_MAX_RATIO <= ONE_CALL_INFLATE_BOUND ? inflateInOneCall(png, fail) : inflateInSlices(png, fail);
  if (inflated.length > png.inflatedBytes)
    throw fail(`the image data inflates past the ${png.inflatedBytes} bytes a ${png.width}×${png.height} image needs`);
  if (inflated.length !== png.inflatedBytes)
    throw fail(
      `the image data inflates to ${inflated.length} bytes, a ${png.width}×${png.height} image needs ${png.inflatedBytes}`,
    );
  return inflated;
}

function inflateInOneCall(png: PngHeader, fail: (detail: string) => DearliError): Uint8Array {
  const idat = png.idat.length === 1 ? png.idat[0] : concatBytes(png.idat);
  try {
    // Bytes past the end of `out` are dropped, so a longer stream shows as inflatedBytes + 1.
    return unzlibSync(idat, { out: new Uint8Array(png.inflatedBytes + 1) });
  } catch (e) {
    throw fail(`the image data cannot be inflated (${e instanceof Error ? e.message : String(e)})`);
  }
}

function inflateInSlices(png: PngHeader, fail: (detail: string) => DearliError): Uint8Array {
  const out = new Uint8Array(png.inflatedBytes);
  let produced = 0;
  let over = false;
  const inflater = new Unzlib((chunk) => {
    if (produced + chunk.length > png.inflatedBytes) {
      over = true;
      throw new Error('over');
    }
    out.set(chunk, produced);
    produced += chunk.length;
  });
  try {
    for (let i = 0; i < png.idat.length; i++) {
      const part = png.idat[i];
      for (let at = 0; at < part.length; at += INFLATE_SLICE) {
        inflater.push(
          part.subarray(at, at + INFLATE_SLICE),
          i === png.idat.length - 1 && at + INFLATE_SLICE >= part.length,
        );
      }
    }
  } catch (e) {
    // One byte more than needed: inflateIdat words the error.
    if (over) return new Uint8Array(png.inflatedBytes + 1);
    throw fail(`the image data cannot be inflated (${e instanceof Error ? e.message : String(e)})`);
  }
  return out.subarray(0, produced);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The scanlines of the image data: where each filter type byte is and how many bytes follow it. */
function* scanlines(png: PngHeader): Generator<{ filterAt: number; rowBytes: number; first: boolean }> {
  const bitsPerPixel = PNG_COLOR_TYPES[png.colorType].channels * png.depth;
  const passes = png.interlaced
    ? ADAM7.map(([x0, y0, dx, dy]) => [Math.ceil((png.width - x0) / dx), Math.ceil((png.height - y0) / dy)])
    : [[png.width, png.height]];
  let at = 0;
  for (const [width, height] of passes) {
    if (width === 0 || height === 0) continue;
    const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
    for (let y = 0; y < height; y++, at += 1 + rowBytes) yield { filterAt: at, rowBytes, first: y === 0 };
  }
}

/** Checks a PNG's structure, inflates its image data once and checks every scanline's filter type. */
export function checkPngData(
  bytes: Uint8Array,
  fail: (detail: string) => DearliError,
  expected?: (header: PngHeader) => void,
): { header: PngHeader; inflated: Uint8Array } {
  const header = readPngStructure(bytes, fail);
  expected?.(header);
  const inflated = inflateIdat(header, fail);
  for (const { filterAt } of scanlines(header))
    if (inflated[filterAt] >= PNG_FILTER_TYPES) throw fail(`unknown filter type ${inflated[filterAt]} in a scanline`);
  return { header, inflated };
}

/**
 * The ids of an 8-bit RGB or RGBA, non-interlaced PNG (the canonical panoptic mask) from its
 * inflated scanlines, unfiltered in place; null for any other format, which fast-png decodes.
 */
export function rgbIdsOf(header: PngHeader, inflated: Uint8Array): Uint32Array | null {
  if (header.depth !== 8 || header.interlaced || (header.colorType !== 2 && header.colorType !== 6)) return null;
  const bytesPerPixel = header.colorType === 6 ? 4 : 3;
  const { width } = header;
  const ids = new Uint32Array(width * header.height);
  let above = -1;
  let i = 0;
  for (const { filterAt, rowBytes } of scanlines(header)) {
    unfilterScanline(inflated, filterAt, above, rowBytes, bytesPerPixel);
    above = filterAt + 1;
    for (let p = above, end = above + rowBytes; p < end; p += bytesPerPixel)
      ids[i++] = inflated[p] | (inflated[p + 1] << 8) | (inflated[p + 2] << 16);
  }
  return ids;
}

/**
 * Image and mask bytes: cheap header probes (type, size) for PNG, JPEG and WebP, integrity checks,
 * and bit-exact decoding of panoptic mask PNGs in pure JS (so identical in Node, workers and pages;
 * a canvas would colour-manage and premultiply, changing ids): 8-bit RGB(A) masks here, from the
 * image data the integrity check inflated, other formats with fast-png.
 *
 * Mask colour types: RGB(A), palette and greyscale are read as `idMapOfPng` (src/core/panopticFiles.ts)
 * says; a grey map that stores id = v therefore fails validation with a hint saying so, instead of
 * being guessed at. 16-bit masks are refused (ids are 8-bit RGB by definition), and so are JPEG and
 * WebP masks.
 */
import { decode as decodePng, encode as encodePng, type DecodedPng } from 'fast-png';
import { Unzlib, unzlibSync } from 'fflate';
import { DearliError } from '../core/errors';
import { LIMITS } from '../core/limits';
import { encodeIdMap } from '../core/panoptic';
import { idMapOfPng, type DecodedIdPng } from '../core/panopticFiles';
import { PNG_FILTER_TYPES, unfilterScanline } from '../core/pngScanlines';
import { MAX_IMAGE_SIDE, problems } from './problems';
import type { ImageType } from './types';

export interface ImageProbe {
  type: ImageType;
  width: number;
  height: number;
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** The image type from the first 12 bytes, by content (never by extension). */
export function sniffImageType(head: Uint8Array): ImageType | null {
  if (head.length >= 8 && PNG_SIGNATURE.every((b, i) => head[i] === b)) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'webp';
  return null;
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

async function readRange(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

const PROBE_BYTES = 64 * 1024;

/**
 * Reads the type and pixel size of an image from its first bytes (more only for JPEGs whose
 * metadata segments push the frame header further). Throws a DearliError naming `file` when the
 * file is not a supported image or its header is damaged.
 */
export async function probeImage(blob: Blob, file: string): Promise<ImageProbe> {
  return probeHead(blob, await readRange(blob, 0, PROBE_BYTES), file);
}

/**
 * probeImage, then checkImageIntegrity: a file no longer than the probe's first bytes (a small
 * image) is read once, where the two checks alone read it twice.
 */
export async function probeAndCheckImage(blob: Blob, file: string): Promise<ImageProbe> {
  const head = await readRange(blob, 0, PROBE_BYTES);
  const probe = await probeHead(blob, head, file);
  await checkImageIntegrity(blob, probe, file, head.length === blob.size ? head : undefined);
  return probe;
}

async function probeHead(blob: Blob, head: Uint8Array, file: string): Promise<ImageProbe> {
  const type = sniffImageType(head);
  if (!type) throw problems.unsupportedImage(file);
  let probe: ImageProbe;
  if (type === 'png') probe = probePng(head, file);
  else if (type === 'webp') probe = probeWebp(head, file);
  else probe = await probeJpeg(blob, head, file);
  if (probe.width > MAX_IMAGE_SIDE || probe.height > MAX_IMAGE_SIDE)
    throw problems.imageTooLarge(file, probe.width, probe.height);
  if (probe.width === 0 || probe.height === 0) throw problems.corruptImage(file, 'its header gives a size of 0');
  return probe;
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function probePng(head: Uint8Array, file: string): ImageProbe {
  if (head.length < 33 || ascii(head, 12, 4) !== 'IHDR')
    throw problems.corruptImage(file, 'PNG without an IHDR header');
  return { type: 'png', width: u32be(head, 16), height: u32be(head, 20) };
}

function probeWebp(head: Uint8Array, file: string): ImageProbe {
  if (head.length < 30) throw problems.corruptImage(file, 'WebP shorter than its header');
  const chunk = ascii(head, 12, 4);
  if (chunk === 'VP8 ') {
    if (head[23] !== 0x9d || head[24] !== 0x01 || head[25] !== 0x2a)
      throw problems.corruptImage(file, 'bad VP8 start code');
    return {
      type: 'webp',
      width: (head[26] | (head[27] << 8)) & 0x3fff,
      height: (head[28] | (head[29] << 8)) & 0x3fff,
    };
  }
  if (chunk === 'VP8L') {
    if (head[20] !== 0x2f) throw problems.corruptImage(file, 'bad VP8L signature');
    const bits = u32le(head, 21);
    return { type: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    const width = 1 + (head[24] | (head[25] << 8) | (head[26] << 16));
    const height = 1 + (head[27] | (head[28] << 8) | (head[29] << 16));
    return { type: 'webp', width, height };
  }
  throw problems.corruptImage(file, `unknown WebP chunk ${JSON.stringify(chunk)}`);
}

/** Walks JPEG marker segments up to the frame header (SOFn), reading further windows as needed. */
async function probeJpeg(blob: Blob, head: Uint8Array, file: string): Promise<ImageProbe> {
  let window = head;
  let windowStart = 0;
  const byteAt = async (pos: number): Promise<number> => {
    if (pos >= blob.size) throw problems.corruptImage(file, 'JPEG ends before its frame header');
    if (pos < windowStart || pos >= windowStart + window.length) {
      windowStart = pos;
      window = await readRange(blob, pos, pos + PROBE_BYTES);
    }
    return window[pos - windowStart];
  };
  let pos = 2;
  for (;;) {
    if ((await byteAt(pos)) !== 0xff) throw problems.corruptImage(file, `no JPEG marker at byte ${pos}`);
    let marker = await byteAt(pos + 1);
    while (marker === 0xff) marker = await byteAt(++pos + 1); // fill bytes
    pos += 2;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no payload
    if (marker === 0xd9 || marker === 0xda) throw problems.corruptImage(file, 'JPEG without a frame header (SOF)');
    const length = ((await byteAt(pos)) << 8) | (await byteAt(pos + 1));
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      const height = ((await byteAt(pos + 3)) << 8) | (await byteAt(pos + 4));
      const width = ((await byteAt(pos + 5)) << 8) | (await byteAt(pos + 6));
      return { type: 'jpeg', width, height };
    }
    pos += length;
  }
}

const JPEG_TAIL_BYTES = 4096;

/**
 * Checks that an image is complete. PNG: every chunk's CRC checked, then its image data inflated to
 * exactly the size its header implies, every scanline with a known filter type. JPEG: the end-of-image
 * marker must lie in the last 4 KB (entropy-coded data never contains FF D9, so a truncated file
 * lacks it; a little trailing padding is tolerated). WebP: the RIFF size must fit in the file.
 * `wholeFile`: the file's bytes, when the caller has read them already.
 */
export async function checkImageIntegrity(
  blob: Blob,
  probe: ImageProbe,
  file: string,
  wholeFile?: Uint8Array,
): Promise<void> {
  if (probe.type === 'png') {
    const { header } = checkPngData(wholeFile ?? new Uint8Array(await blob.arrayBuffer()), (detail) =>
      problems.corruptImage(file, detail),
    );
    if (header.width !== probe.width || header.height !== probe.height)
      throw problems.corruptImage(file, 'IHDR size changed while decoding');
  } else if (probe.type === 'jpeg') {
    const tail = await readRange(blob, Math.max(0, blob.size - JPEG_TAIL_BYTES), blob.size);
    let hasEnd = false;
    for (let i = tail.length - 2; i >= 0 && !hasEnd; i--) hasEnd = tail[i] === 0xff && tail[i + 1] === 0xd9;
    if (!hasEnd) throw problems.corruptImage(file, 'JPEG without its end-of-image marker');
  } else {
    const riffEnd = 8 + u32le(await readRange(blob, 0, 8), 4);
    if (riffEnd > blob.size)
      throw problems.corruptImage(file, `WebP is ${blob.size} bytes but its RIFF header says ${riffEnd}`);
  }
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

interface PngHeader {
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
const DEFLATE_MAX_RATIO = 1032;
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
function checkPngData(
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
function rgbIdsOf(header: PngHeader, inflated: Uint8Array): Uint32Array | null {
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

/**
 * Decodes a panoptic mask PNG into one id per pixel, bit-exactly, or throws a DearliError naming
 * `file`. With `image`, the mask's header size is compared with its image before anything is inflated.
 */
export function decodeMaskPng(
  bytes: Uint8Array,
  file: string,
  image?: { path: string; width: number; height: number },
): DecodedIdPng {
  const type = sniffImageType(bytes.subarray(0, 12));
  if (type === 'jpeg') throw problems.jpegMask(file);
  if (type !== 'png') throw problems.notPngMask(file);
  const fail = (detail: string) => problems.corruptMask(file, detail);
  const { header, inflated } = checkPngData(bytes, fail, (header) => {
    if (header.depth === 16) throw problems.sixteenBitMask(file);
    if (image && (header.width !== image.width || header.height !== image.height)) {
      throw problems.maskSizeMismatch(file, [header.width, header.height], [image.width, image.height], image.path);
    }
  });
  const ids = rgbIdsOf(header, inflated);
  if (ids) return { width: header.width, height: header.height, ids, colorType: 'rgb' };
  let png: DecodedPng;
  try {
    png = decodePng(bytes);
  } catch (e) {
    throw fail(e instanceof Error ? e.message : String(e));
  }
  return idMapOfPng(png, fail);
}

/** Encodes segment ids as an RGB panoptic PNG (id = R + 256·G + 256²·B). */
export function encodeIdPng(ids: Uint32Array, width: number, height: number): Uint8Array {
  return encodePng({ width, height, data: encodeIdMap(ids), channels: 3, depth: 8 });
}

/** Encodes interleaved RGB pixels as a PNG. */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  return encodePng({ width, height, data: rgb, channels: 3, depth: 8 });
}

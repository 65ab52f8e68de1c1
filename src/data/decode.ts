/**
 * Image and mask bytes: cheap header probes (type, size) for PNG, JPEG and WebP, integrity checks,
 * and bit-exact decoding of panoptic mask PNGs in pure JS (so identical in Node, workers and pages;
 * a canvas would colour-manage and premultiply, changing ids): 8-bit RGB(A) masks from the image data
 * the integrity check inflated (src/data/pngData.ts), other formats with fast-png.
 *
 * Mask colour types: RGB(A), palette and greyscale are read as `idMapOfPng` (src/core/panopticFiles.ts)
 * says; a grey map that stores id = v therefore fails validation with a hint saying so, instead of
 * being guessed at. 16-bit masks are refused (ids are 8-bit RGB by definition), and so are JPEG and
 * WebP masks.
 */
import { decode as decodePng, encode as encodePng, type DecodedPng } from 'fast-png';
import { encodeIdMap } from '../core/panoptic';
import { idMapOfPng, type DecodedIdPng } from '../core/panopticFiles';
import { ascii, checkPngData, PNG_SIGNATURE, rgbIdsOf, u32be } from './pngData';
import { MAX_IMAGE_SIDE, problems } from './problems';
import type { ImageType } from './types';

export interface ImageProbe {
  type: ImageType;
  width: number;
  height: number;
}

/** The image type from the first 12 bytes, by content (never by extension). */
export function sniffImageType(head: Uint8Array): ImageType | null {
  if (head.length >= 8 && PNG_SIGNATURE.every((b, i) => head[i] === b)) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'webp';
  return null;
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

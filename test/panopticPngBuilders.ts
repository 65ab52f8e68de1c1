/**
 * PNG builders for the panoptic PNG reader's tests (scripts/panopticPng.test.ts): chunks, every
 * filter type per row, Adam7 interlacing, random id-map-like images. Written out independently of
 * the decoders they test.
 */
import { deflateSync } from 'node:zlib';
import type { Rng } from '../src/core/rng';
import { ihdr as hostileIhdr, pngChunk } from './hostile';

export type Filter = 0 | 1 | 2 | 3 | 4;

export interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  /** Interleaved 8-bit samples. */
  pixels: Uint8Array;
}

// Adam7 pass origins and steps, written out here again so the test does not trust the decoder's table.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  return toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
}

/** One row filtered as the PNG spec says; `above` is the previous raw row of the same pass (zeros for the first). */
function filterRow(row: Uint8Array, above: Uint8Array, bytesPerPixel: number, filter: Filter): Uint8Array {
  const out = new Uint8Array(row.length + 1);
  out[0] = filter;
  for (let i = 0; i < row.length; i++) {
    const left = i >= bytesPerPixel ? row[i - bytesPerPixel] : 0;
    const upLeft = i >= bytesPerPixel ? above[i - bytesPerPixel] : 0;
    const prediction = [0, left, above[i], (left + above[i]) >> 1, paeth(left, above[i], upLeft)][filter];
    out[i + 1] = (row[i] - prediction) & 255;
  }
  return out;
}

/** A chunk with its length and CRC (test/hostile.ts's builder). */
export const chunk = pngChunk;

/** IHDR with the arguments in header order: depth before colour type. */
export function ihdr(width: number, height: number, depth: number, colorType: number, interlace: number): Uint8Array {
  return hostileIhdr(width, height, colorType, depth, interlace);
}

export function png(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat([Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks]);
}

/**
 * Encodes a PNG choosing each row's filter (fast-png always writes filter 0), optionally Adam7
 * interlaced, with the compressed data spread over `idatCount` IDAT chunks.
 */
export function encodeFiltered(
  image: RawImage,
  filterOf: (pass: number, y: number) => Filter,
  interlaced: boolean,
  idatCount = 1,
): Uint8Array {
  const { width, height, channels, pixels } = image;
  const passes = interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  const rows: Uint8Array[] = [];
  passes.forEach(([x0, y0, xStep, yStep], pass) => {
    const passWidth = Math.ceil((width - x0) / xStep);
    const passHeight = Math.ceil((height - y0) / yStep);
    if (passWidth <= 0 || passHeight <= 0) return;
    let above = new Uint8Array(passWidth * channels);
    for (let y = 0; y < passHeight; y++) {
      const row = new Uint8Array(passWidth * channels);
      for (let x = 0; x < passWidth; x++) {
        const source = ((y0 + y * yStep) * width + x0 + x * xStep) * channels;
        row.set(pixels.subarray(source, source + channels), x * channels);
      }
      rows.push(filterRow(row, above, channels, filterOf(pass, y)));
      above = row;
    }
  });
  const compressed = deflateSync(Buffer.concat(rows));
  const idats = Array.from({ length: idatCount }, (_, i) =>
    chunk(
      'IDAT',
      compressed.subarray(
        Math.floor((i * compressed.length) / idatCount),
        Math.floor(((i + 1) * compressed.length) / idatCount),
      ),
    ),
  );
  return png([
    ihdr(width, height, 8, channels === 4 ? 6 : 2, interlaced ? 1 : 0),
    ...idats,
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Id-map-like pixels: runs copied from the left or from above, and noise, so every Paeth branch is taken. */
export function randomImage(rng: Rng, width: number, height: number, channels: 3 | 4): RawImage {
  const pixels = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) {
    const choice = rng.next();
    for (let c = 0; c < channels; c++) {
      const i = p * channels + c;
      if (choice < 0.4 && p % width > 0) pixels[i] = pixels[i - channels];
      else if (choice < 0.6 && p >= width) pixels[i] = pixels[i - width * channels];
      else pixels[i] = rng.int(0, 255);
    }
  }
  return { width, height, channels, pixels };
}

export function idsOf({ width, height, channels, pixels }: RawImage): Uint32Array {
  const ids = new Uint32Array(width * height);
  for (let i = 0; i < ids.length; i++)
    ids[i] = pixels[i * channels] + 256 * pixels[i * channels + 1] + 65536 * pixels[i * channels + 2];
  return ids;
}

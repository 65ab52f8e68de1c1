/**
 * The eval CLI's decoder for COCO panoptic PNGs: the image data is inflated by node:zlib in one call
 * (its output bounded by the image's size), then each row is unfiltered in place and packed straight
 * into segment ids or counted as (gt, pred) pairs. Reads what the browser path (decodePanopticPng) reads: 8-bit RGB or RGBA,
 * interlaced or not; refuses the rest alike.
 */
import { constants as bufferConstants } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import {
  undecodablePngError,
  unsupportedPngError,
  type IdMap,
  type PanopticPngRowReader,
  type PanopticPngRows,
} from '../src/core/panopticFiles';
import { unfilterScanline } from '../src/core/pngScanlines';
import { DEFLATE_MAX_RATIO } from '../src/data/pngData';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
// Chunk types as big-endian uint32s, compared without decoding text.
const IHDR = 0x49484452;
const IDAT = 0x49444154;
const IEND = 0x49454e44;
const COLOR_TYPE_RGB = 2;
const COLOR_TYPE_PALETTE = 3;
const COLOR_TYPE_RGBA = 6;
const CHANNELS_OF_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A sub-image of Adam7 interlacing: the pixels at (x0 + i·xStep, y0 + j·yStep). */
interface Pass {
  x0: number;
  y0: number;
  xStep: number;
  yStep: number;
}

const WHOLE_IMAGE: readonly Pass[] = [{ x0: 0, y0: 0, xStep: 1, yStep: 1 }];
const ADAM7: readonly Pass[] = [
  { x0: 0, y0: 0, xStep: 8, yStep: 8 },
  { x0: 4, y0: 0, xStep: 8, yStep: 8 },
  { x0: 0, y0: 4, xStep: 4, yStep: 8 },
  { x0: 2, y0: 0, xStep: 4, yStep: 4 },
  { x0: 0, y0: 2, xStep: 2, yStep: 4 },
  { x0: 1, y0: 0, xStep: 2, yStep: 2 },
  { x0: 0, y0: 1, xStep: 1, yStep: 2 },
];

/** A checked and inflated panoptic PNG: its rows still filtered, each after its filter type byte. */
interface InflatedPng {
  width: number;
  height: number;
  bytesPerPixel: 3 | 4;
  passes: (Pass & { width: number; height: number })[];
  filtered: Uint8Array;
  filteredView: DataView;
  inflated: Buffer;
}

/** Decodes a panoptic PNG to ids R + 256·G + 256²·B (alpha ignored, as panopticapi does); `file` names it in errors. */
export function decodeRgbPanopticPng(bytes: Uint8Array, file: string): IdMap {
  const { width, height, bytesPerPixel, passes, filtered, filteredView } = inflatePanopticPng(bytes, file);
  const ids = new Uint32Array(width * height);
  let passStart = 0;
  for (const pass of passes) {
    const rowBytes = pass.width * bytesPerPixel;
    for (let y = 0; y < pass.height; y++) {
      const filterAt = passStart + y * (rowBytes + 1);
      unfilterRow(filtered, filterAt, y === 0 ? -1 : filterAt - rowBytes, rowBytes, bytesPerPixel, file);
      packIds(
        filtered,
        filteredView,
        filterAt + 1,
        pass.width,
        bytesPerPixel,
        ids,
        (pass.y0 + y * pass.yStep) * width + pass.x0,
        pass.xStep,
      );
    }
    passStart += pass.height * (rowBytes + 1);
  }
  return { ids, width, height };
}

/**
 * A reader of non-interlaced panoptic PNGs' rows for counting pixel pairs without an id map (null for
 * an interlaced one, whose rows do not come in raster order): each row is unfiltered in place when
 * asked for, in order, and compared natively with the row above. (One reader per side, as
 * `evaluatePanopticFolders` takes them.)
 */
export function rgbPanopticPngRowReader(): PanopticPngRowReader {
  return readRows;
}

function readRows(bytes: Uint8Array, file: string): PanopticPngRows | null {
  const { width, height, bytesPerPixel, passes, filtered, filteredView, inflated } = inflatePanopticPng(bytes, file);
  if (passes.length !== 1 || passes[0].xStep !== 1) return null;
  const stride = width * bytesPerPixel + 1;
  return {
    width,
    height,
    bytesPerPixel,
    bytes: filtered,
    view: filteredView,
    unfilterRow(y: number): number {
      const filterAt = y * stride;
      unfilterRow(filtered, filterAt, y === 0 ? -1 : filterAt - stride + 1, stride - 1, bytesPerPixel, file);
      return filterAt + 1;
    },
    sameAsRowAbove(y: number): boolean {
      const start = y * stride + 1;
      return y > 0 && inflated.compare(inflated, start - stride, start - 1, start, start + stride - 1) === 0;
    },
  };
}

function inflatePanopticPng(bytes: Uint8Array, file: string): InflatedPng {
  const bad = (reason: string) => undecodablePngError(reason, file);
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw bad('no PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let width = 0;
  let height = 0;
  let colorType = -1;
  let interlaced = false;
  const idatChunks: Uint8Array[] = [];
  let offset = 8;
  for (let ended = false; !ended;) {
    if (offset + 12 > bytes.length) throw bad('the file ends before its IEND chunk');
    const length = view.getUint32(offset);
    const type = view.getUint32(offset + 4);
    const data = offset + 8;
    // CRCs are not checked, as fast-png does not check them either.
    if (data + length + 4 > bytes.length) throw bad('a chunk runs past the end of the file');
    if (offset === 8 && type !== IHDR) throw bad('the first chunk is not IHDR');
    if (type === IHDR) {
      if (length !== 13) throw bad(`IHDR is ${length} bytes, not 13`);
      width = view.getUint32(data);
      height = view.getUint32(data + 4);
      const depth = bytes[data + 8];
      colorType = bytes[data + 9];
      const channels = CHANNELS_OF_COLOR_TYPE[colorType];
      if (channels === undefined) throw bad(`unknown color type ${colorType}`);
      if (depth !== 8 || (colorType !== COLOR_TYPE_RGB && colorType !== COLOR_TYPE_RGBA))
        throw unsupportedPngError(depth, channels, colorType === COLOR_TYPE_PALETTE, file);
      if (bytes[data + 10] !== 0) throw bad(`unknown compression method ${bytes[data + 10]}`);
      if (bytes[data + 11] !== 0) throw bad(`unknown filter method ${bytes[data + 11]}`);
      if (bytes[data + 12] > 1) throw bad(`unknown interlace method ${bytes[data + 12]}`);
      interlaced = bytes[data + 12] === 1;
      if (width === 0 || height === 0) throw bad(`it is ${width}x${height} pixels`);
    } else if (type === IDAT) {
      idatChunks.push(bytes.subarray(data, data + length));
    } else if (type === IEND) {
      ended = true;
    }
    offset = data + length + 4;
  }
  if (idatChunks.length === 0) throw bad('it has no IDAT chunk');

  const bytesPerPixel: 3 | 4 = colorType === COLOR_TYPE_RGBA ? 4 : 3;
  const passes = (interlaced ? ADAM7 : WHOLE_IMAGE)
    .map((pass) => ({
      ...pass,
      width: Math.ceil((width - pass.x0) / pass.xStep),
      height: Math.ceil((height - pass.y0) / pass.yStep),
    }))
    .filter((pass) => pass.width > 0 && pass.height > 0);
  // Every row starts with its filter type byte.
  const filteredBytes = passes.reduce((sum, pass) => sum + pass.height * (1 + pass.width * bytesPerPixel), 0);
  if (Math.max(filteredBytes, 4 * width * height) > bufferConstants.MAX_LENGTH)
    throw bad(`${width}x${height} pixels is too large to decode`);

  const idat = idatChunks.length === 1 ? idatChunks[0] : Buffer.concat(idatChunks);
  // Refused before anything is allocated: no DEFLATE stream expands more than DEFLATE_MAX_RATIO-fold.
  if (idat.length * DEFLATE_MAX_RATIO < filteredBytes)
    throw bad(
      `${idat.length} bytes of image data cannot inflate to the ${filteredBytes} a ${width}x${height} image needs`,
    );
  let inflated: Buffer;
  try {
    inflated = inflateSync(idat, {
      chunkSize: Math.max(64, filteredBytes + 1),
      maxOutputLength: filteredBytes,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw bad(`more image data than a ${width}x${height} image holds`);
    throw bad(`corrupt image data: ${(e as Error).message}`);
  }
  if (inflated.length !== filteredBytes)
    throw bad(`the image data is ${inflated.length} bytes, a ${width}x${height} image needs ${filteredBytes}`);

  return {
    width,
    height,
    bytesPerPixel,
    passes,
    filtered: new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.length),
    filteredView: new DataView(inflated.buffer, inflated.byteOffset, inflated.length),
    inflated,
  };
}

/** Undoes a row's filter in place (src/core/pngScanlines.ts), refusing an unknown filter type. */
function unfilterRow(
  data: Uint8Array,
  filterAt: number,
  above: number,
  rowBytes: number,
  bytesPerPixel: number,
  file: string,
): void {
  if (!unfilterScanline(data, filterAt, above, rowBytes, bytesPerPixel))
    throw undecodablePngError(`unknown filter type ${data[filterAt]} in a row`, file);
}

/**
 * Writes one unfiltered row's pixels as ids, from ids[first] on, every `step`-th id. One
 * little-endian 32-bit read per pixel (its 4th byte masked off) is about twice as fast as three
 * byte reads; the row's last pixel is read bytewise, since for the image's last row no byte follows.
 */
function packIds(
  data: Uint8Array,
  view: DataView,
  row: number,
  pixels: number,
  bytesPerPixel: number,
  ids: Uint32Array,
  first: number,
  step: number,
): void {
  let p = row;
  let out = first;
  for (let x = 1; x < pixels; x++, p += bytesPerPixel, out += step) ids[out] = view.getUint32(p, true) & 0xffffff;
  ids[out] = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16);
}

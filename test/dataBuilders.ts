/** Small files for the data layer's tests: PNGs, fake JPEG/WebP headers and dataset folders. */
import { BlobWriter, ZipWriter, Uint8ArrayReader } from '@zip.js/zip.js';
import { encode as encodePng } from 'fast-png';
import type { Category, SegmentInfo } from '../src/core/panoptic';
import { encodeIdPng, encodeRgbPng } from '../src/data/decode';
import { measureSegments } from '../src/data/validate';
import type { ImportFile } from '../src/data/types';

export function blobOf(bytes: Uint8Array): Blob {
  return new Blob([bytes as Uint8Array<ArrayBuffer>]);
}

export function rgbPng(width: number, height: number, seed = 1): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 31 + seed * 17) & 255;
  return encodeRgbPng(rgb, width, height);
}

/** A PNG of any fast-png colour type, for mask decoding tests. */
export function customPng(
  data: Uint8Array | Uint16Array,
  width: number,
  height: number,
  channels: number,
  depth: 1 | 2 | 4 | 8 | 16,
  palette?: number[][],
): Uint8Array {
  return encodePng({ width, height, data, channels, depth, palette });
}

/**
 * A JPEG with valid markers but no real picture (Node has no JPEG decoder): SOI, an APP1 segment of
 * `app1Bytes`, SOF0 with the size, SOS, a few data bytes and EOI.
 */
export function fakeJpeg(
  width: number,
  height: number,
  options: { eoi?: boolean; app1Bytes?: number } = {},
): Uint8Array {
  const app1 = options.app1Bytes ?? 16;
  const parts: number[] = [0xff, 0xd8];
  parts.push(0xff, 0xe1, (app1 + 2) >> 8, (app1 + 2) & 255, ...new Array<number>(app1).fill(0x45));
  parts.push(
    0xff,
    0xc0,
    0,
    17,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  );
  parts.push(0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0, 0x12, 0x34, 0x56, 0xff, 0x00, 0x78);
  if (options.eoi !== false) parts.push(0xff, 0xd9);
  return Uint8Array.from(parts);
}

/** A lossless (VP8L) WebP header of the given size; `declaredExtra` makes the RIFF size claim more bytes than exist. */
export function fakeWebp(width: number, height: number, declaredExtra = 0): Uint8Array {
  const body = new Uint8Array(40);
  const bytes = new Uint8Array(20 + body.length);
  const text = (s: string, at: number) => [...s].forEach((ch, i) => (bytes[at + i] = ch.charCodeAt(0)));
  const u32 = (v: number, at: number) => new DataView(bytes.buffer).setUint32(at, v, true);
  text('RIFF', 0);
  u32(bytes.length - 8 + declaredExtra, 4);
  text('WEBP', 8);
  text('VP8L', 12);
  u32(body.length, 16);
  bytes[20] = 0x2f;
  u32(((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14), 21);
  return bytes;
}

/** A PNG whose IHDR claims a size, for limit tests (the rest need not decode). */
export function pngHeaderClaiming(width: number, height: number): Uint8Array {
  const bytes = rgbPng(2, 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return bytes;
}

const TEST_CATEGORIES: Category[] = [
  { id: 1, name: 'ball', isthing: true },
  { id: 7, name: 'sky', isthing: false },
];

/** An id map 8×6: sky (7000) everywhere, one ball (1001) and a second ball (1002). */
export function sceneIds(width = 8, height = 6): Uint32Array {
  const ids = new Uint32Array(width * height).fill(7000);
  for (let y = 1; y < 3; y++) for (let x = 1; x < 4; x++) ids[y * width + x] = 1001;
  ids[(height - 1) * width + (width - 1)] = 1002;
  return ids;
}

export function segmentsOf(ids: Uint32Array, width: number): SegmentInfo[] {
  return [...measureSegments(ids, width).keys()]
    .sort((a, b) => a - b)
    .map((id) => ({ id, category_id: Math.floor(id / 1000), iscrowd: 0 }));
}

export interface CocoImageSpec {
  name: string;
  width?: number;
  height?: number;
  ids?: Uint32Array;
  /** Overrides the segments written to the JSON. */
  segments?: SegmentInfo[];
  /** Overrides the image or mask bytes. */
  image?: Uint8Array;
  mask?: Uint8Array;
}

/**
 * A COCO panoptic folder: root/annotations/panoptic_{split}.json, root/annotations/panoptic_{split}/*.png,
 * root/{split}/*.jpg|png (split 'train' unless given). `categories: null` leaves the JSON without categories.
 */
export function cocoFolder(
  specs: CocoImageSpec[],
  options: { root?: string; split?: string; categories?: Category[] | null; json?: string } = {},
): ImportFile[] {
  const root = options.root ?? 'mydata';
  const split = options.split ?? 'train';
  const files: ImportFile[] = [];
  const images = [];
  const annotations = [];
  for (const [i, spec] of specs.entries()) {
    const width = spec.width ?? 8;
    const height = spec.height ?? 6;
    const ids = spec.ids ?? sceneIds(width, height);
    const stem = spec.name.replace(/\.[^.]+$/, '');
    files.push({ path: `${root}/${split}/${spec.name}`, file: blobOf(spec.image ?? rgbPng(width, height, i)) });
    files.push({
      path: `${root}/annotations/panoptic_${split}/${stem}.png`,
      file: blobOf(spec.mask ?? encodeIdPng(ids, width, height)),
    });
    images.push({ id: i + 1, file_name: spec.name, width, height });
    annotations.push({
      image_id: i + 1,
      file_name: `${stem}.png`,
      segments_info: spec.segments ?? segmentsOf(ids, width),
    });
  }
  const categories =
    options.categories === null
      ? undefined
      : (options.categories ?? TEST_CATEGORIES).map((c) => ({ ...c, isthing: c.isthing ? 1 : 0 }));
  const json = options.json ?? JSON.stringify({ images, annotations, categories }, null, 1);
  files.push({ path: `${root}/annotations/panoptic_${split}.json`, file: new Blob([json]) });
  return files;
}

/** A simple-layout folder: root/categories.json, root/images/*.png, root/panoptic/*.png. */
export function simpleFolder(
  names: string[],
  options: { root?: string; categories?: unknown; masks?: Record<string, Uint8Array> } = {},
): ImportFile[] {
  const root = options.root ?? 'simple';
  const files: ImportFile[] = [
    { path: `${root}/categories.json`, file: new Blob([JSON.stringify(options.categories ?? TEST_CATEGORIES)]) },
  ];
  for (const [i, name] of names.entries()) {
    const stem = name.replace(/\.[^.]+$/, '');
    files.push({ path: `${root}/images/${name}`, file: blobOf(rgbPng(8, 6, i)) });
    files.push({
      path: `${root}/panoptic/${stem}.png`,
      file: blobOf(options.masks?.[stem] ?? encodeIdPng(sceneIds(), 8, 6)),
    });
  }
  return files;
}

export async function zipOf(files: { path: string; bytes: Uint8Array }[], level = 6): Promise<Blob> {
  const writer = new ZipWriter(new BlobWriter('application/zip'), { useWebWorkers: false, level });
  for (const f of files) await writer.add(f.path, new Uint8ArrayReader(f.bytes));
  return writer.close();
}

export async function bytesOf(file: ImportFile['file']): Promise<Uint8Array> {
  const blob = 'read' in file ? await file.read() : file;
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * The demo world as datasets: seeded splits, written as a COCO panoptic folder so that the app
 * imports the demo through the same importer as user data (and the generate script writes the
 * same files to disk).
 *
 * Default counts (8 labeled, 48 unlabeled, 16 validation at 256×256) are a first-run size: the
 * semi-supervised setting in miniature (few labels, six times more unlabeled images), generated
 * and imported in a few seconds, about 8 MB of PNGs.
 */
import { Rng } from '../../core/rng';
import type { Category, SegmentInfo } from '../../core/panoptic';
import { encodeIdPng, encodeRgbPng } from '../decode';
import { planImport } from '../import';
import { commitImport } from '../importCommit';
import { deleteDataset, type DatasetRecord, type DearliDB } from '../store';
import { problems } from '../problems';
import type { DatasetRole, ImportFile, ImportProgress } from '../types';
import { DEMO_CATEGORIES, generateDemoImage, type DemoImage } from './world';

export const DEMO_SPLITS = ['labeled', 'unlabeled', 'validation'] as const satisfies readonly DatasetRole[];
export type DemoSplit = (typeof DEMO_SPLITS)[number];

/** The folder name of the demo: every path demoAsCocoFiles writes starts with it. */
export const DEMO_ROOT = 'dearli-demo';

export interface DemoOptions {
  seed?: number;
  width?: number;
  height?: number;
  labeled?: number;
  unlabeled?: number;
  validation?: number;
}

export const DEMO_DEFAULTS: Required<DemoOptions> = {
  seed: 1,
  width: 256,
  height: 256,
  labeled: 8,
  unlabeled: 48,
  validation: 16,
};

export interface DemoRecord extends DemoImage {
  /** Stem of the image's file name, e.g. 'demo_labeled_00003'. */
  name: string;
  imageId: number;
}

/**
 * Each image has its own generator seeded from (seed, split, index), so a split's images do not
 * change when another split's count does.
 */
function imageRng(seed: number, split: DemoSplit, index: number): Rng {
  const salt = DEMO_SPLITS.indexOf(split) + 1;
  return new Rng(
    (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0,
  );
}

/** The images of one split, one at a time (the generate script writes them without holding them all). */
export function* iterateDemoSplit(options: DemoOptions, split: DemoSplit): Generator<DemoRecord> {
  const o = { ...DEMO_DEFAULTS, ...options };
  for (let i = 0; i < o[split]; i++) {
    const image = generateDemoImage(imageRng(o.seed, split, i), { width: o.width, height: o.height });
    // Image ids are unique across splits, so the splits can also be merged into one COCO file.
    yield {
      ...image,
      name: `demo_${split}_${String(i).padStart(5, '0')}`,
      imageId: (DEMO_SPLITS.indexOf(split) + 1) * 1_000_000 + i,
    };
  }
}

export interface DemoSplitData {
  role: DemoSplit;
  /** The dataset name the demo import uses, e.g. 'Demo · labeled'. */
  name: string;
  images: DemoRecord[];
}

export interface DemoDataset {
  options: Required<DemoOptions>;
  categories: Category[];
  splits: DemoSplitData[];
}

function demoDatasetName(split: DemoSplit): string {
  return `Demo · ${split}`;
}

/** Generates every split in memory (fine at demo sizes; the generate script streams instead). */
export function generateDemoDataset(options: DemoOptions = {}): DemoDataset {
  const o = { ...DEMO_DEFAULTS, ...options };
  return {
    options: o,
    categories: DEMO_CATEGORIES,
    splits: DEMO_SPLITS.map((role) => ({ role, name: demoDatasetName(role), images: [...iterateDemoSplit(o, role)] })),
  };
}

/**
 * One split as a COCO panoptic folder, one file at a time:
 *   dearli-demo/{split}/demo_{split}_00000.png                        images (PNG, lossless)
 *   dearli-demo/annotations/panoptic_{split}/demo_{split}_00000.png   panoptic masks (RGB ids)
 *   dearli-demo/annotations/panoptic_{split}.json                     segments_info, categories
 * The unlabeled split has images only.
 */
export function* demoSplitEntries(
  split: DemoSplit,
  records: Iterable<DemoRecord>,
): Generator<{ path: string; bytes: Uint8Array }> {
  const images: { id: number; file_name: string; width: number; height: number }[] = [];
  const annotations: { image_id: number; file_name: string; segments_info: SegmentInfo[] }[] = [];
  for (const record of records) {
    yield {
      path: `${DEMO_ROOT}/${split}/${record.name}.png`,
      bytes: encodeRgbPng(record.rgb, record.width, record.height),
    };
    if (split === 'unlabeled') continue;
    yield {
      path: `${DEMO_ROOT}/annotations/panoptic_${split}/${record.name}.png`,
      bytes: encodeIdPng(record.ids, record.width, record.height),
    };
    images.push({ id: record.imageId, file_name: `${record.name}.png`, width: record.width, height: record.height });
    annotations.push({ image_id: record.imageId, file_name: `${record.name}.png`, segments_info: record.segments });
  }
  if (split === 'unlabeled') return;
  const categories = DEMO_CATEGORIES.map((c) => ({
    id: c.id,
    name: c.name,
    isthing: c.isthing ? 1 : 0,
    color: c.color,
    synonyms: c.synonyms,
  }));
  const json = { info: { description: 'DEARLi Lab demo world', split }, images, annotations, categories };
  yield {
    path: `${DEMO_ROOT}/annotations/panoptic_${split}.json`,
    bytes: new TextEncoder().encode(JSON.stringify(json)),
  };
}

/**
 * The demo as import files (Blobs) ready for planImport: one split's folder when `split` is given,
 * else all three splits in one folder (planImports makes one dataset per split; planImport needs
 * `annotationFile` to pick one).
 */
export function demoAsCocoFiles(
  dataset: DemoDataset,
  split?: DemoSplit | DemoSplitData,
): { path: string; file: Blob }[] {
  const role = typeof split === 'string' ? split : split?.role;
  const chosen = dataset.splits.filter((s) => role === undefined || s.role === role);
  return chosen.flatMap((s) =>
    [...demoSplitEntries(s.role, s.images)].map(({ path, bytes }) => ({
      path,
      file: new Blob([bytes as Uint8Array<ArrayBuffer>]),
    })),
  );
}

export type DemoImportProgress = ImportProgress & { stage: string };

/**
 * Generates the demo world and imports its three splits as datasets named by demoDatasetName,
 * through planImport/commitImport like user data (splits with a count of 0 are left out). All are
 * imported or none (cancel, full storage); a problem in a plan would be a bug in the generator.
 */
export async function importDemoDatasets(
  db: DearliDB,
  options: DemoOptions = {},
  control: { signal?: AbortSignal; onProgress?: (p: DemoImportProgress) => void } = {},
): Promise<DatasetRecord[]> {
  const report = (stage: string) => (p: ImportProgress) => control.onProgress?.({ ...p, stage });
  const o = { ...DEMO_DEFAULTS, ...options };
  const datasets: DatasetRecord[] = [];
  try {
    for (const role of DEMO_SPLITS) {
      if (o[role] === 0) continue; // an empty dataset cannot be imported, and need not be
      const files = demoSplitFiles(o, role, report(`generating ${role}`), control.signal);
      const plan = await planImport(files, { role, signal: control.signal, onProgress: report(`checking ${role}`) });
      datasets.push(
        await commitImport(
          db,
          plan,
          { name: demoDatasetName(role), role },
          { signal: control.signal, onProgress: report(`importing ${role}`) },
        ),
      );
    }
  } catch (e) {
    // All three or none: a half-imported demo would look like a complete one.
    for (const d of datasets) await deleteDataset(db, d.id);
    throw e;
  }
  return datasets;
}

/** One split's files, generated image by image with progress (a few seconds at the default size). */
function demoSplitFiles(
  options: Required<DemoOptions>,
  role: DemoSplit,
  onProgress: (p: ImportProgress) => void,
  signal: AbortSignal | undefined,
): ImportFile[] {
  const total = options[role];
  const start = performance.now();
  let done = 0;
  let bytes = 0;
  const files: ImportFile[] = [];
  for (const { path, bytes: data } of demoSplitEntries(role, iterateDemoSplit(options, role))) {
    if (signal?.aborted) throw problems.cancelled();
    files.push({ path, file: new Blob([data as Uint8Array<ArrayBuffer>]) });
    bytes += data.length;
    if (path.startsWith(`${DEMO_ROOT}/${role}/`)) {
      done++;
      const seconds = Math.max((performance.now() - start) / 1000, 1e-3);
      onProgress({ done, total, bytes, filesPerSecond: done / seconds, etaSeconds: ((total - done) * seconds) / done });
    }
  }
  return files;
}

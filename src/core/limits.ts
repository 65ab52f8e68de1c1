/**
 * The resource policy: every limit the lab puts on bytes from outside (weight files, dataset zips,
 * masks, annotation JSON), named in one place. Parsers check a limit before they allocate, and the
 * error they throw names the limit, so a user with a legitimately larger file knows what to raise
 * (README "Limits").
 */
import { DearliError } from './errors';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const LIMITS = {
  /** Safetensors JSON header. Real headers are a few hundred kB (CLIP ConvNeXt-XXL: ~1,000 tensors). */
  safetensorsHeaderBytes: 4 * MiB,
  /** Tensors in one weight file; also bounds the JSON objects a header may hold before it is parsed. */
  tensorCount: 20_000,
  /** Dimensions of one tensor. */
  tensorRank: 16,
  /** Bytes of one tensor read into memory (the largest CLIP/SAM tensors are under 200 MB). */
  tensorBytes: 1 * GiB,
  /** data.pkl of a torch checkpoint, inflated. */
  pickleBytes: 64 * MiB,
  /** Memo entries of a pickle (one per stored object; a CLIP state dict needs a few thousand). */
  pickleMemoEntries: 1_000_000,
  /** Nesting of dicts, lists and tuples in a pickle. */
  pickleNesting: 64,
  /** Inflated bytes of one zip entry (image, mask, JSON, storage of a checkpoint). */
  zipEntryBytes: 1 * GiB,
  /** Inflated bytes of all the entries of one archive, as its directory declares them. */
  zipArchiveBytes: 16 * GiB,
  /** Inflated size over compressed size of one zip entry (deflate tops out near 1032; real data is far below 100). */
  zipInflateRatio: 100,
  /** Entries up to this inflated size are exempt from the ratio cap (a small file of zeros compresses well). */
  zipRatioExemptBytes: 1 * MiB,
  /** One annotation JSON file (COCO panoptic train is ~0.4 GB; V8 strings end near 512 MiB). */
  jsonBytes: 500 * MiB,
  /** Longer side of an image or mask, read from its header before decoding (GPU texture limit). */
  imageSide: 8192,
} as const;

export type LimitName = keyof typeof LIMITS;

/** Inflated bytes a zip entry of `compressedSize` may reach under the ratio cap. */
export function inflateBound(compressedSize: number): number {
  return Math.max(LIMITS.zipRatioExemptBytes, compressedSize * LIMITS.zipInflateRatio);
}

/** The error for input over a limit: names the limit and its value, and says how to raise it. */
export function limitError(code: string, problem: string, limit: LimitName, file?: string, fix?: string): DearliError {
  const raise = `raise LIMITS.${limit} (now ${LIMITS[limit]}) in src/core/limits.ts only if you trust the file`;
  return new DearliError(
    code,
    `${problem} (limit ${limit} = ${LIMITS[limit]})`,
    fix ? `${fix}; or ${raise}.` : `The file is damaged or hostile; ${raise}.`,
    file,
  );
}

/** Product of a shape's dimensions, refused past `max` before any multiplication can lose precision. */
export function checkedProduct(shape: readonly number[], max: number): number | null {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    if (n > max / d) return null;
    n *= d;
  }
  return n;
}

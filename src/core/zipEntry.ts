/**
 * Inflating one zip entry with the resource policy applied: the declared size is checked against
 * the absolute and ratio caps before anything is inflated, and the inflated stream is counted as it
 * arrives, so a forged directory size or a bomb stops at the declared size instead of filling memory.
 * Written against the shape of a @zip.js/zip.js entry so that core stays free of dependencies.
 */
import { DearliError } from './errors';
import { inflateBound, LIMITS, limitError } from './limits';

export interface InflatableEntry {
  filename: string;
  compressedSize: number;
  uncompressedSize: number;
  getData?(writer: WritableStream<Uint8Array>, options: { useWebWorkers: boolean }): Promise<unknown>;
}

/** Refuses an entry whose declared size breaks a cap; `cap` defaults to LIMITS.zipEntryBytes. */
function checkZipEntrySize(entry: InflatableEntry, archive: string, cap: number = LIMITS.zipEntryBytes): void {
  const what = `"${entry.filename}" inflates to ${entry.uncompressedSize} bytes`;
  if (entry.uncompressedSize > cap) {
    throw cap === LIMITS.zipEntryBytes
      ? limitError('zip-limit', what, 'zipEntryBytes', archive)
      : new DearliError(
          'zip-limit',
          `${what}, more than the ${cap} such an entry may hold`,
          'The archive is damaged or hostile: get it again from its source.',
          archive,
        );
  }
  if (entry.uncompressedSize > inflateBound(entry.compressedSize)) {
    throw limitError(
      'zip-limit',
      `${what} from ${entry.compressedSize} compressed bytes, a zip bomb's ratio`,
      'zipInflateRatio',
      archive,
    );
  }
}

/** Inflates an entry into a Blob of exactly its declared size, or throws a DearliError naming `archive`. */
export async function inflateZipEntry(entry: InflatableEntry, archive: string, cap?: number): Promise<Blob> {
  checkZipEntrySize(entry, archive, cap);
  if (!entry.getData)
    throw new DearliError(
      'bad-zip',
      `"${entry.filename}" is a folder, not a file`,
      'Check the archive layout.',
      archive,
    );
  const declared = entry.uncompressedSize;
  const parts: Uint8Array[] = [];
  let received = 0;
  let overflow = false;
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      received += chunk.length;
      if (received > declared) {
        overflow = true;
        throw new Error('more bytes than declared');
      }
      parts.push(chunk);
    },
  });
  try {
    await entry.getData(sink, { useWebWorkers: false });
  } catch (e) {
    if (overflow) throw forged(entry, archive, `inflates past the ${declared} bytes its directory declares`);
    throw new DearliError(
      'bad-zip',
      `"${entry.filename}" cannot be read (${e instanceof Error ? e.message : String(e)})`,
      'The archive is damaged, encrypted or uses a compression the lab cannot read (only stored and deflate): re-create it with a standard zip tool.',
      archive,
    );
  }
  if (received !== declared)
    throw forged(entry, archive, `inflates to ${received} bytes, its directory declares ${declared}`);
  return new Blob(parts as BlobPart[]);
}

function forged(entry: InflatableEntry, archive: string, what: string): DearliError {
  return new DearliError(
    'bad-zip',
    `"${entry.filename}" ${what}`,
    'The archive is damaged or its sizes are forged: get it again from its source.',
    archive,
  );
}

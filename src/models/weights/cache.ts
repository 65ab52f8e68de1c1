/**
 * The browser cache for weight and vocabulary files, behind one injectable interface.
 *
 * Backends: OPFS (preferred: files stream straight to disk and come back as lazily-read File blobs), Cache Storage
 * (fallback where OPFS cannot write, e.g. no `createWritable`), and memory (Node tests, or no storage at all).
 * Every write goes to a pending entry first and becomes visible under its key only on commit(), so a cancelled or
 * failed download never leaves a half file behind.
 */

export interface CachedFileInfo {
  /** Cache key: `hf:<repo>@<revision>/<file>` for hub files, the URL for other downloads. */
  key: string;
  /** File name shown to the user (e.g. open_clip_pytorch_model.bin). */
  name: string;
  sourceUrl: string;
  size: number;
  /** Hex SHA-256 of the bytes, computed while they were written. */
  sha256: string;
  /** ISO 8601 time the file was committed. */
  date: string;
}

export interface CachedFile {
  info: CachedFileInfo;
  blob: Blob;
}

/** A file being written. Nothing is visible under its key until commit(). */
export interface PendingCacheWrite {
  readonly bytesWritten: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Forgets what was written, for a server that cannot resume and sends the file again from byte 0. */
  restart(): Promise<void>;
  /** Publishes the file (replacing an older one under the same key). */
  commit(info: CachedFileInfo): Promise<void>;
  /** Drops the pending file; safe to call after a failure or twice. */
  abort(): Promise<void>;
}

export interface WeightCache {
  readonly kind: 'opfs' | 'cache-storage' | 'memory';
  begin(key: string): Promise<PendingCacheWrite>;
  get(key: string): Promise<CachedFile | null>;
  list(): Promise<CachedFileInfo[]>;
  delete(key: string): Promise<boolean>;
}

/** Cached models and files, newest first, for the storage panel. */
export async function listCachedModels(cache: WeightCache): Promise<CachedFileInfo[]> {
  return (await cache.list()).sort((a, b) => b.date.localeCompare(a.date));
}

/** Frees one cached file; false when nothing was stored under the key. */
export function deleteCachedModel(cache: WeightCache, key: string): Promise<boolean> {
  return cache.delete(key);
}

// ---------------------------------------------------------------------------------------------------------------

export class MemoryWeightCache implements WeightCache {
  readonly kind = 'memory';
  private readonly files = new Map<string, CachedFile>();

  async begin(key: string): Promise<PendingCacheWrite> {
    let chunks: Uint8Array[] = [];
    let bytesWritten = 0;
    return {
      get bytesWritten() {
        return bytesWritten;
      },
      write: async (chunk) => {
        chunks.push(chunk.slice());
        bytesWritten += chunk.byteLength;
      },
      restart: async () => {
        chunks = [];
        bytesWritten = 0;
      },
      commit: async (info) => {
        this.files.set(key, { info: { ...info, key }, blob: new Blob(chunks as BlobPart[]) });
        chunks = [];
      },
      abort: async () => {
        chunks = [];
      },
    };
  }

  async get(key: string): Promise<CachedFile | null> {
    return this.files.get(key) ?? null;
  }

  async list(): Promise<CachedFileInfo[]> {
    return [...this.files.values()].map((f) => f.info);
  }

  async delete(key: string): Promise<boolean> {
    return this.files.delete(key);
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** Parts of the OPFS API that TypeScript's DOM lib (without DOM.AsyncIterable) does not declare. */
interface OpfsDirectory extends FileSystemDirectoryHandle {
  keys(): AsyncIterable<string>;
}
interface MovableFileHandle extends FileSystemFileHandle {
  move?(parent: FileSystemDirectoryHandle, name: string): Promise<void>;
}

/** The OPFS folder that holds every cached file (and nothing else). */
export const OPFS_FOLDER = 'dearli-weights';

/** OPFS names may not hold '/' or be '.'/'..': keys are stored percent-encoded. */
function opfsBaseName(key: string): string {
  return encodeURIComponent(key).replace(/\./g, '%2E');
}

async function removeIfPresent(dir: FileSystemDirectoryHandle, name: string): Promise<boolean> {
  try {
    await dir.removeEntry(name);
    return true;
  } catch (e) {
    if ((e as DOMException).name === 'NotFoundError') return false;
    throw e;
  }
}

/** Files in the origin-private file system: `<key>.part` while writing, then `<key>.data` + `<key>.json`. */
export class OpfsWeightCache implements WeightCache {
  readonly kind = 'opfs';
  private folder: Promise<OpfsDirectory> | null = null;

  static isSupported(): boolean {
    return (
      typeof navigator !== 'undefined' &&
      typeof navigator.storage?.getDirectory === 'function' &&
      typeof FileSystemFileHandle !== 'undefined' &&
      'createWritable' in FileSystemFileHandle.prototype
    );
  }

  private dir(): Promise<OpfsDirectory> {
    this.folder ??= navigator.storage
      .getDirectory()
      .then((root) => root.getDirectoryHandle(OPFS_FOLDER, { create: true }) as Promise<OpfsDirectory>);
    return this.folder;
  }

  async begin(key: string): Promise<PendingCacheWrite> {
    const dir = await this.dir();
    const base = opfsBaseName(key);
    await removeIfPresent(dir, `${base}.part`); // left over by a crashed tab
    const part = (await dir.getFileHandle(`${base}.part`, { create: true })) as MovableFileHandle;
    const writable = await part.createWritable({ keepExistingData: false });
    let bytesWritten = 0;
    let open = true;
    const abort = async () => {
      if (open) {
        open = false;
        await writable.abort().catch(() => undefined);
      }
      await removeIfPresent(dir, `${base}.part`);
    };
    return {
      get bytesWritten() {
        return bytesWritten;
      },
      write: async (chunk) => {
        await writable.write(chunk as Uint8Array<ArrayBuffer>);
        bytesWritten += chunk.byteLength;
      },
      restart: async () => {
        await writable.truncate(0);
        bytesWritten = 0;
      },
      commit: async (info) => {
        open = false;
        await writable.close();
        // Unpublish the old entry before its data is replaced; the .json is written last and marks a complete entry.
        await removeIfPresent(dir, `${base}.json`);
        await removeIfPresent(dir, `${base}.data`);
        if (part.move) {
          await part.move(dir, `${base}.data`);
        } else {
          const target = await dir.getFileHandle(`${base}.data`, { create: true });
          await (await part.getFile()).stream().pipeTo(await target.createWritable());
          await removeIfPresent(dir, `${base}.part`);
        }
        const json = await (await dir.getFileHandle(`${base}.json`, { create: true })).createWritable();
        await json.write(JSON.stringify({ ...info, key }));
        await json.close();
      },
      abort,
    };
  }

  async get(key: string): Promise<CachedFile | null> {
    const dir = await this.dir();
    const base = opfsBaseName(key);
    const info = await this.readInfo(dir, `${base}.json`);
    if (!info) return null;
    try {
      const blob = await (await dir.getFileHandle(`${base}.data`)).getFile();
      return blob.size === info.size ? { info, blob } : null;
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') return null;
      throw e;
    }
  }

  async list(): Promise<CachedFileInfo[]> {
    const dir = await this.dir();
    const out: CachedFileInfo[] = [];
    for await (const name of dir.keys()) {
      if (!name.endsWith('.json')) continue;
      const info = await this.readInfo(dir, name);
      if (info) out.push(info);
    }
    return out;
  }

  async delete(key: string): Promise<boolean> {
    const dir = await this.dir();
    const base = opfsBaseName(key);
    const existed = await removeIfPresent(dir, `${base}.json`);
    await removeIfPresent(dir, `${base}.data`);
    return existed;
  }

  private async readInfo(dir: FileSystemDirectoryHandle, name: string): Promise<CachedFileInfo | null> {
    try {
      return JSON.parse(await (await (await dir.getFileHandle(name)).getFile()).text()) as CachedFileInfo;
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError' || e instanceof SyntaxError) return null;
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

const CACHE_STORAGE_NAME = 'dearli-weights';
/** Cache Storage only keys http(s) requests: files live under this made-up origin. */
const CACHE_STORAGE_PREFIX = 'https://dearli-weights.invalid/';
const INFO_HEADER = 'x-dearli-file-info';

/**
 * Cache Storage fallback. It cannot append to a stored response, so a pending file collects its chunks in a Blob
 * (which Chromium spills to disk when large) and is put as one Response on commit.
 */
export class CacheStorageWeightCache implements WeightCache {
  readonly kind = 'cache-storage';

  static isSupported(): boolean {
    return typeof caches !== 'undefined';
  }

  async begin(key: string): Promise<PendingCacheWrite> {
    let parts: Blob[] = [];
    let bytesWritten = 0;
    return {
      get bytesWritten() {
        return bytesWritten;
      },
      write: async (chunk) => {
        parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
        bytesWritten += chunk.byteLength;
        if (parts.length >= 256) parts = [new Blob(parts)];
      },
      restart: async () => {
        parts = [];
        bytesWritten = 0;
      },
      commit: async (info) => {
        const headers = { [INFO_HEADER]: encodeURIComponent(JSON.stringify({ ...info, key })) };
        await (
          await caches.open(CACHE_STORAGE_NAME)
        ).put(CACHE_STORAGE_PREFIX + encodeURIComponent(key), new Response(new Blob(parts), { headers }));
        parts = [];
      },
      abort: async () => {
        parts = [];
      },
    };
  }

  async get(key: string): Promise<CachedFile | null> {
    const response = await (
      await caches.open(CACHE_STORAGE_NAME)
    ).match(CACHE_STORAGE_PREFIX + encodeURIComponent(key));
    const info = response && parseInfo(response);
    return info && response ? { info, blob: await response.blob() } : null;
  }

  async list(): Promise<CachedFileInfo[]> {
    const cache = await caches.open(CACHE_STORAGE_NAME);
    const out: CachedFileInfo[] = [];
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const info = response && parseInfo(response);
      if (info) out.push(info);
    }
    return out;
  }

  async delete(key: string): Promise<boolean> {
    return (await caches.open(CACHE_STORAGE_NAME)).delete(CACHE_STORAGE_PREFIX + encodeURIComponent(key));
  }
}

function parseInfo(response: Response): CachedFileInfo | null {
  const raw = response.headers.get(INFO_HEADER);
  return raw ? (JSON.parse(decodeURIComponent(raw)) as CachedFileInfo) : null;
}

/** The best cache this context offers: OPFS, else Cache Storage, else memory (lost on reload). */
export function openWeightCache(): WeightCache {
  if (OpfsWeightCache.isSupported()) return new OpfsWeightCache();
  if (CacheStorageWeightCache.isSupported()) return new CacheStorageWeightCache();
  return new MemoryWeightCache();
}

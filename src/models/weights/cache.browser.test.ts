import { describe, expect, it } from 'vitest';
import { DearliError } from '../../core/errors';
import { CacheStorageWeightCache, OPFS_FOLDER, OpfsWeightCache, openWeightCache, type WeightCache } from './cache';
import { downloadToCache } from './download';

function pseudoRandomBytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function sha256Hex(bytes: BufferSource): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
}

async function sameBytes(blob: Blob, expected: Uint8Array): Promise<boolean> {
  const got = new Uint8Array(await blob.arrayBuffer());
  return got.length === expected.length && got.every((v, i) => v === expected[i]);
}

/** No network in the test browser: the "server" is a Blob URL. */
function blobUrl(bytes: Uint8Array<ArrayBuffer>): string {
  return URL.createObjectURL(new Blob([bytes]));
}

async function opfsFolderNames(): Promise<string[]> {
  const dir = (await (
    await navigator.storage.getDirectory()
  ).getDirectoryHandle(OPFS_FOLDER, { create: true })) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
  const names: string[] = [];
  for await (const name of dir.keys()) names.push(name);
  return names;
}

const backends: [string, () => WeightCache][] = [
  ['OPFS', () => new OpfsWeightCache()],
  ['Cache Storage', () => new CacheStorageWeightCache()],
];

describe('weight cache in Chromium', () => {
  it('prefers OPFS', () => {
    expect(openWeightCache().kind).toBe('opfs');
  });

  it.each(backends)(
    '%s: a downloaded file survives a new cache instance (reload) until deleted',
    async (_name, makeCache) => {
      const bytes = pseudoRandomBytes(2 * 1024 * 1024 + 17, 7);
      const key = 'hf:org/model@main/open_clip_model.safetensors';
      const url = blobUrl(bytes);
      const first = makeCache();
      await first.delete(key);
      const { info } = await downloadToCache(first, { key, url, name: 'open_clip_model.safetensors' });
      expect(info.sha256).toBe(await sha256Hex(bytes));
      expect(info.size).toBe(bytes.length);

      const afterReload = makeCache();
      const cached = await afterReload.get(key);
      expect(cached?.info).toEqual(info);
      expect(await sameBytes(cached!.blob, bytes)).toBe(true);
      expect((await afterReload.list()).map((i) => i.key)).toContain(key);

      // A newer download under the same key replaces the old one.
      const newer = pseudoRandomBytes(1000, 8);
      await downloadToCache(afterReload, { key, url: blobUrl(newer), name: 'open_clip_model.safetensors' });
      expect(await sameBytes((await makeCache().get(key))!.blob, newer)).toBe(true);

      expect(await afterReload.delete(key)).toBe(true);
      expect(await makeCache().get(key)).toBeNull();
      if (afterReload.kind === 'opfs') expect(await opfsFolderNames()).toEqual([]);
    },
  );

  it.each(backends)('%s: a cancelled download leaves no entry and no partial file', async (_name, makeCache) => {
    const bytes = pseudoRandomBytes(24 * 1024 * 1024, 9);
    const key = 'https://example.invalid/big.bin';
    const cache = makeCache();
    const controller = new AbortController();
    const err = await downloadToCache(
      cache,
      { key, url: blobUrl(bytes), name: 'big.bin' },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.receivedBytes > 0 && p.receivedBytes < bytes.length) controller.abort();
        },
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DearliError);
    expect((err as DearliError).code).toBe('download-cancelled');
    expect(await makeCache().get(key)).toBeNull();
    expect((await makeCache().list()).map((i) => i.key)).not.toContain(key);
    if (cache.kind === 'opfs') expect(await opfsFolderNames()).toEqual([]);
  });
});

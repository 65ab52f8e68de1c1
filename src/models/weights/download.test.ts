import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DearliError } from '../../core/errors';
import { deleteCachedModel, listCachedModels, MemoryWeightCache } from './cache';
import { downloadToCache, type DownloadProgress } from './download';
import { hubFileUrl, listHubFiles, loadWeightFile, pickWeightFile, resolveWeightSource } from './hub';

const FILE = (() => {
  const bytes = new Uint8Array(3 * 1024 * 1024 + 123);
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
})();
const FILE_SHA256 = createHash('sha256').update(FILE).digest('hex');
const ETAG = '"v1"';

/** A local stand-in for huggingface.co and a plain file server, with failure modes. */
interface ServerLog {
  path: string;
  range?: string;
  ifRange?: string;
  authorization?: string;
}
let server: Server;
let base: string;
let log: ServerLog[] = [];
/** Bytes after which each next file response is cut (connection destroyed); consumed one per request. */
let dropAfter: number[] = [];
let failWith500 = 0;

function sendFile(req: IncomingMessage, res: ServerResponse, opts: { ranges: boolean; slow: boolean }): void {
  const range = req.headers.range?.match(/^bytes=(\d+)-$/);
  const ifRange = req.headers['if-range'];
  let start = 0;
  if (opts.ranges && range && (!ifRange || ifRange === ETAG)) {
    start = Number(range[1]);
    res.writeHead(206, {
      'content-range': `bytes ${start}-${FILE.length - 1}/${FILE.length}`,
      'content-length': FILE.length - start,
      etag: ETAG,
    });
  } else {
    res.writeHead(200, { 'content-length': FILE.length, etag: ETAG, 'accept-ranges': opts.ranges ? 'bytes' : 'none' });
  }
  const body = FILE.subarray(start);
  const cut = dropAfter.shift();
  if (cut !== undefined) {
    res.write(body.subarray(0, cut), () => res.socket?.destroy());
    return;
  }
  if (!opts.slow) {
    res.end(body);
    return;
  }
  let pos = 0;
  const pump = () => {
    if (res.destroyed) return;
    if (pos >= body.length) return void res.end();
    res.write(body.subarray(pos, pos + 32 * 1024));
    pos += 32 * 1024;
    setTimeout(pump, 5);
  };
  pump();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    log.push({
      path,
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      authorization: req.headers.authorization,
    });
    if (path === '/api/models/org/clip?blobs=true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'org/clip',
          siblings: [
            { rfilename: 'open_clip_pytorch_model.bin' },
            { rfilename: 'README.md' },
            { rfilename: 'open_clip_model.safetensors', lfs: { sha256: FILE_SHA256, size: FILE.length } },
          ],
        }),
      );
    } else if (path === '/api/models/org/text-only?blobs=true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ siblings: [{ rfilename: 'README.md' }] }));
    } else if (path === '/api/models/org/gated?blobs=true') {
      res.writeHead(401).end();
    } else if (path === '/org/clip/resolve/main/open_clip_model.safetensors' || path === '/files/model.bin') {
      sendFile(req, res, { ranges: true, slow: false });
    } else if (path === '/files/norange.bin') {
      sendFile(req, res, { ranges: false, slow: false });
    } else if (path === '/files/slow.bin') {
      sendFile(req, res, { ranges: true, slow: true });
    } else if (path === '/files/flaky.bin' && failWith500 > 0) {
      failWith500--;
      res.writeHead(500).end();
    } else if (path === '/files/flaky.bin') {
      sendFile(req, res, { ranges: true, slow: false });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  log = [];
  dropAfter = [];
  failWith500 = 0;
});

/** Byte equality without vitest's element-by-element deep diff (too slow for megabytes). */
async function expectFileBytes(blob: Blob): Promise<void> {
  expect(Buffer.compare(Buffer.from(await blob.arrayBuffer()), FILE)).toBe(0);
}

describe('downloadToCache', () => {
  it('streams a file into the cache with progress, size, sha256 and date', async () => {
    const cache = new MemoryWeightCache();
    const progress: DownloadProgress[] = [];
    const { info, blob } = await downloadToCache(
      cache,
      { key: 'k', url: `${base}/files/model.bin`, name: 'model.bin' },
      { onProgress: (p) => progress.push(p) },
    );
    await expectFileBytes(blob);
    expect(info).toMatchObject({
      key: 'k',
      name: 'model.bin',
      sourceUrl: `${base}/files/model.bin`,
      size: FILE.length,
      sha256: FILE_SHA256,
    });
    expect(Number.isNaN(Date.parse(info.date))).toBe(false);
    const last = progress[progress.length - 1];
    expect(last).toMatchObject({ receivedBytes: FILE.length, totalBytes: FILE.length, etaSeconds: 0, attempt: 1 });
    expect(await listCachedModels(cache)).toEqual([info]);
  });

  it('resumes with a Range request after the connection drops, twice, and gets the exact bytes', async () => {
    dropAfter = [1_000_000, 700_000];
    const cache = new MemoryWeightCache();
    const { info, blob } = await downloadToCache(
      cache,
      { key: 'k', url: `${base}/files/model.bin`, name: 'model.bin' },
      { retryDelayMs: 1 },
    );
    await expectFileBytes(blob);
    expect(info.sha256).toBe(FILE_SHA256);
    expect(log).toHaveLength(3);
    expect(log[0].range).toBeUndefined();
    const resumes = log.slice(1).map((l) => Number(l.range?.match(/^bytes=(\d+)-$/)?.[1]));
    expect(resumes[0]).toBeGreaterThan(0);
    expect(resumes[1]).toBeGreaterThan(resumes[0]);
    expect(log[1].ifRange).toBe(ETAG);
  });

  it('starts over cleanly when the server ignores Range', async () => {
    dropAfter = [1_500_000];
    const cache = new MemoryWeightCache();
    const progress: DownloadProgress[] = [];
    const { info, blob } = await downloadToCache(
      cache,
      { key: 'k', url: `${base}/files/norange.bin`, name: 'n.bin' },
      { retryDelayMs: 1, onProgress: (p) => progress.push(p) },
    );
    expect(log.map((l) => l.range !== undefined)).toEqual([false, true]);
    expect(blob.size).toBe(FILE.length);
    await expectFileBytes(blob);
    expect(info.sha256).toBe(FILE_SHA256);
    expect(progress[progress.length - 1].attempt).toBe(2);
  });

  it('leaves nothing in the cache when cancelled midway', async () => {
    const cache = new MemoryWeightCache();
    const controller = new AbortController();
    const run = downloadToCache(
      cache,
      { key: 'k', url: `${base}/files/slow.bin`, name: 'slow.bin' },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.receivedBytes > 200_000) controller.abort();
        },
      },
    );
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DearliError);
    expect((err as DearliError).code).toBe('download-cancelled');
    expect(await cache.list()).toEqual([]);
    expect(await cache.get('k')).toBeNull();
  });

  it('retries server errors, gives up after maxAttempts, and does not retry a 404', async () => {
    failWith500 = 2;
    const cache = new MemoryWeightCache();
    const ok = await downloadToCache(
      cache,
      { key: 'flaky', url: `${base}/files/flaky.bin`, name: 'f.bin' },
      { retryDelayMs: 1 },
    );
    expect(ok.info.sha256).toBe(FILE_SHA256);
    expect(log).toHaveLength(3);

    log = [];
    dropAfter = [100, 100, 100];
    const broken = await downloadToCache(
      cache,
      { key: 'broken', url: `${base}/files/norange.bin`, name: 'b.bin' },
      { retryDelayMs: 1, maxAttempts: 3 },
    ).catch((e: unknown) => e);
    expect((broken as DearliError).code).toBe('download-failed');
    expect((broken as DearliError).message).toMatch(/after 3 attempts/);

    log = [];
    const missing = await downloadToCache(
      cache,
      { key: 'm', url: `${base}/files/missing.bin`, name: 'm.bin' },
      { retryDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect((missing as DearliError).code).toBe('download-http');
    expect((missing as DearliError).message).toMatch(/HTTP 404/);
    expect(log).toHaveLength(1);
    expect((await cache.list()).map((i) => i.key)).toEqual(['flaky']);
  });
});

describe('hub', () => {
  it('lists repo files from the model API and prefers safetensors', async () => {
    const files = await listHubFiles('org/clip', { endpoint: base });
    expect(files).toContain('open_clip_pytorch_model.bin');
    expect(pickWeightFile(files)).toBe('open_clip_model.safetensors');
    expect(pickWeightFile(['open_clip_pytorch_model.bin', 'model.safetensors'])).toBe('model.safetensors');
    expect(pickWeightFile(['README.md'])).toBeNull();
    expect(hubFileUrl('laion/CLIP-convnext_base_w-laion2B-s13B-b82K-augreg', 'open_clip_pytorch_model.bin')).toBe(
      'https://huggingface.co/laion/CLIP-convnext_base_w-laion2B-s13B-b82K-augreg/resolve/main/open_clip_pytorch_model.bin',
    );
    expect(hubFileUrl('org/clip', 'sub dir/vocab.json', 'v1.0')).toBe(
      'https://huggingface.co/org/clip/resolve/v1.0/sub%20dir/vocab.json',
    );
  });

  it('explains a repo without weights, a gated repo and a bad repo name', async () => {
    await expect(resolveWeightSource({ kind: 'hub', repo: 'org/text-only' }, { endpoint: base })).rejects.toThrow(
      /has none of open_clip_model\.safetensors/,
    );
    await expect(listHubFiles('org/gated', { endpoint: base, accessToken: 'hf_x' })).rejects.toThrow(/HTTP 401/);
    expect(log[log.length - 1].authorization).toBe('Bearer hf_x');
    await expect(listHubFiles('../etc/passwd', { endpoint: base })).rejects.toThrow(
      /not a Hugging Face repository name/,
    );
  });

  it('downloads the chosen hub file once, then serves it from the cache', async () => {
    const cache = new MemoryWeightCache();
    const first = await loadWeightFile({ kind: 'hub', repo: 'org/clip' }, cache, { endpoint: base });
    expect(first.name).toBe('open_clip_model.safetensors');
    expect(first.cached?.key).toBe('hf:org/clip@main/open_clip_model.safetensors');
    expect(first.cached?.sha256).toBe(FILE_SHA256);
    const requests = log.length;
    const again = await loadWeightFile({ kind: 'hub', repo: 'org/clip', file: 'open_clip_model.safetensors' }, cache, {
      endpoint: base,
    });
    expect(log).toHaveLength(requests);
    await expectFileBytes(again.blob);
  });

  it('accepts any URL and dropped files (kept in the cache on request)', async () => {
    const cache = new MemoryWeightCache();
    const fromUrl = await loadWeightFile({ kind: 'url', url: `${base}/files/model.bin` }, cache, {
      accessToken: 'secret',
    });
    expect(fromUrl.name).toBe('model.bin');
    expect(log.every((l) => l.authorization === undefined)).toBe(true);
    const dropped = new File([FILE.subarray(0, 1000)], 'mine.safetensors', { lastModified: 1 });
    const plain = await loadWeightFile({ kind: 'file', file: dropped }, cache);
    expect(plain.blob).toBe(dropped);
    expect(plain.cached).toBeNull();
    const kept = await loadWeightFile({ kind: 'file', file: dropped, keepInCache: true }, cache);
    expect(kept.cached?.sha256).toBe(createHash('sha256').update(FILE.subarray(0, 1000)).digest('hex'));
    expect((await listCachedModels(cache)).map((i) => i.name).sort()).toEqual(['mine.safetensors', 'model.bin']);
    expect(await deleteCachedModel(cache, kept.cached!.key)).toBe(true);
    expect(await deleteCachedModel(cache, kept.cached!.key)).toBe(false);
    expect((await listCachedModels(cache)).map((i) => i.name)).toEqual(['model.bin']);
  });
});

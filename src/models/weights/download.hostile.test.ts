/**
 * Issue 13, downloads: a server on 127.0.0.1 that lies in every way found (wrong sha256 or size
 * announced by the hub headers, short bodies, cut connections, login pages, JSON errors, resumes
 * that ignore If-Range, gzip bombs, `../` names, malformed hub API bodies). The cache ends each case
 * with nothing, or with the verified file.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DearliError } from '../../core/errors';
import { MemoryWeightCache } from './cache';
import { downloadToCache, type ExpectedFile } from './download';
import { listHubFiles, loadWeightFile, resolveWeightSource } from './hub';

const version = (seed: number) => Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 255);
const V1 = version(1);
const V2 = version(2);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** V1 with one byte changed. */
const TAMPERED = V1.map((b, i) => (i === 150_000 ? b ^ 1 : b));
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const hubSiblings = [
  { rfilename: 'README.md', size: 12 },
  { rfilename: 'model.safetensors', size: V1.length, lfs: { sha256: sha(V1), size: V1.length } },
];
let server: Server;
let base: string;
let spliceRequests = 0;

/** Sends `bytes` then, when `cutAt` is given, destroys the connection after that many bytes. */
function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  bytes: Uint8Array,
  cutAt?: number,
): void {
  res.writeHead(status, headers);
  if (cutAt === undefined) return void res.end(bytes);
  res.write(bytes.subarray(0, cutAt), () => res.socket?.destroy());
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const lfs = { 'x-linked-etag': `"${sha(V1)}"`, 'x-linked-size': V1.length };
    switch (req.url) {
      case '/ok.bin':
        return send(res, 200, { ...lfs, 'content-length': V1.length }, V1);
      case '/wrong-sha.bin':
        return send(res, 200, { 'x-linked-etag': `"${sha(V2)}"`, 'content-length': V1.length }, V1);
      case '/wrong-size.bin':
        return send(res, 200, { 'x-linked-size': V1.length + 10, 'content-length': V1.length }, V1);
      case '/short.bin':
        return send(res, 200, { 'content-length': V1.length }, V1, 100_000);
      // No length: the end of the connection ends the body, so a cut looks like a clean end.
      case '/cut.bin':
        res.writeHead(200, { ...lfs, connection: 'close' });
        res.end(V1.subarray(0, 100_000));
        return;
      case '/login.bin':
        return send(
          res,
          200,
          { 'content-type': 'text/html; charset=utf-8' },
          new TextEncoder().encode('<html>Sign in</html>'),
        );
      case '/error.bin':
        return send(
          res,
          200,
          { 'content-type': 'application/json' },
          new TextEncoder().encode('{"error":"Repository not found"}'),
        );
      case '/splice.bin':
        // First a cut v1; the resume gets a 206 of v2 (If-Range ignored); then v2 whole.
        spliceRequests++;
        if (!req.headers.range)
          return send(
            res,
            200,
            { etag: spliceRequests === 1 ? '"v1"' : '"v2"', 'content-length': V1.length },
            spliceRequests === 1 ? V1 : V2,
            spliceRequests === 1 ? 120_000 : undefined,
          );
        return send(
          res,
          206,
          {
            etag: '"v2"',
            'content-range': `bytes 120000-${V2.length - 1}/${V2.length}`,
            'content-length': V2.length - 120_000,
          },
          V2.subarray(120_000),
        );
      case '/gzip.bin': {
        const body = gzipSync(new Uint8Array(64 * 1024 * 1024));
        return send(res, 200, { 'content-encoding': 'gzip', 'content-length': body.length }, body);
      }
      case '/api/models/org/html?blobs=true':
        return send(res, 200, { 'content-type': 'text/html' }, new TextEncoder().encode('<html>login</html>'));
      case '/api/models/org/bad-siblings?blobs=true':
        return send(
          res,
          200,
          { 'content-type': 'application/json' },
          new TextEncoder().encode('{"siblings":[{"rfilename":7}]}'),
        );
      // A hub stand-in as a browser sees it: `resolve` redirects to a CDN whose answer has no x-linked headers.
      case '/api/models/org/hub?blobs=true':
      case '/api/models/org/hub/revision/v1?blobs=true':
      case '/api/models/org/tampered?blobs=true':
        return send(res, 200, { 'content-type': 'application/json' }, json({ siblings: hubSiblings }));
      case '/org/hub/resolve/main/model.safetensors':
      case '/org/hub/resolve/v1/model.safetensors':
        return void res.writeHead(302, { location: '/cdn/v1' }).end();
      case '/org/tampered/resolve/main/model.safetensors':
        return void res.writeHead(302, { location: '/cdn/tampered' }).end();
      case '/cdn/v1':
        return send(res, 200, { 'content-length': V1.length }, V1);
      case '/cdn/tampered':
        return send(res, 200, { 'content-length': TAMPERED.length }, TAMPERED);
      case '/api/models/org/bad-lfs?blobs=true':
        return send(
          res,
          200,
          { 'content-type': 'application/json' },
          json({ siblings: [{ rfilename: 'model.safetensors', lfs: { sha256: 'not-a-hash', size: V1.length } }] }),
        );
      case '/api/models/org/no-siblings?blobs=true':
        return send(res, 200, { 'content-type': 'application/json' }, new TextEncoder().encode('{"siblings":"x"}'));
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function download(path: string, expected?: ExpectedFile) {
  const cache = new MemoryWeightCache();
  const result = await downloadToCache(
    cache,
    { key: path, url: `${base}${path}`, name: path.slice(1), expected },
    { retryDelayMs: 1, maxAttempts: 3 },
  ).catch((e: unknown) => e);
  return { cache, result };
}

async function expectNothingKept(path: string, code: string, pattern: RegExp, expected?: ExpectedFile): Promise<void> {
  const { cache, result } = await download(path, expected);
  expect(result).toBeInstanceOf(DearliError);
  expect((result as DearliError).code).toBe(code);
  expect((result as DearliError).file).toBe(path.slice(1));
  expect((result as DearliError).message).toMatch(pattern);
  expect(await cache.list()).toEqual([]);
  expect(await cache.get(path)).toBeNull();
}

describe('verified downloads (issue 13)', () => {
  it('commits a file whose size and sha256 match the hub headers', async () => {
    const { cache, result } = await download('/ok.bin');
    expect((result as { info: { sha256: string } }).info.sha256).toBe(sha(V1));
    expect((await cache.list()).map((i) => i.sha256)).toEqual([sha(V1)]);
  });

  it('refuses a file whose sha256 or size differs from what the hub announces or the caller expects', async () => {
    await expectNothingKept('/wrong-sha.bin', 'download-corrupt', /sha256/);
    await expectNothingKept('/ok.bin', 'download-corrupt', /but .* was expected/, { sha256: sha(V2) });
    await expectNothingKept('/wrong-size.bin', 'download-corrupt', /should have 300010 bytes/);
  });

  it('never commits a body shorter than Content-Length, nor a cut connection without a length', async () => {
    await expectNothingKept('/short.bin', 'download-failed', /after 3 attempts/);
    await expectNothingKept('/cut.bin', 'download-failed', /closed before the whole file arrived/);
  });

  it('refuses an HTML login page and a JSON error in place of a weight file, with the URL and status', async () => {
    await expectNothingKept('/login.bin', 'download-not-file', /\/login\.bin answered HTTP 200 with a text\/html/);
    await expectNothingKept(
      '/error.bin',
      'download-not-file',
      /\/error\.bin answered HTTP 200 with a application\/json/,
    );
  });

  it('starts over instead of splicing when a resume gets another version (If-Range ignored)', async () => {
    const { cache, result } = await download('/splice.bin');
    expect((result as { info: { sha256: string } }).info.sha256).toBe(sha(V2));
    const stored = await cache.get('/splice.bin');
    expect(Buffer.compare(Buffer.from(await stored!.blob.arrayBuffer()), Buffer.from(V2))).toBe(0);
  });

  it('bounds a gzip body by size: 64 KB that inflates to 64 MiB is not cached', async () => {
    await expectNothingKept('/gzip.bin', 'download-failed', /may inflate to/);
  });

  it('refuses hub file names that leave the repository and names malformed hub API bodies', async () => {
    for (const file of ['../../etc/passwd', 'a/../b.bin', '/abs.bin', 'a//b']) {
      await expect(
        resolveWeightSource({ kind: 'hub', repo: 'org/clip', file }, { endpoint: base }),
      ).rejects.toMatchObject({ code: 'hub-file' });
    }
    await expect(listHubFiles('org/html', { endpoint: base })).rejects.toMatchObject({
      code: 'hub-malformed',
      file: 'org/html',
    });
    await expect(listHubFiles('org/bad-siblings', { endpoint: base })).rejects.toThrow(
      /"siblings" entry without a file name/,
    );
    await expect(listHubFiles('org/no-siblings', { endpoint: base })).rejects.toThrow(/without a "siblings" list/);
  });

  it("checks a redirected hub download against the sha256 and size of the hub API's LFS entry", async () => {
    const hub = { kind: 'hub', repo: 'org/hub', file: 'model.safetensors' } as const;
    const cache = new MemoryWeightCache();
    const loaded = await loadWeightFile(hub, cache, { endpoint: base, retryDelayMs: 1 });
    expect(loaded.cached?.sha256).toBe(sha(V1));
    expect(loaded.blob.size).toBe(V1.length);
    expect((await cache.list()).map((i) => [i.key, i.sha256])).toEqual([
      ['hf:org/hub@main/model.safetensors', sha(V1)],
    ]);

    const atRevision = await loadWeightFile({ kind: 'hub', repo: 'org/hub', revision: 'v1' }, new MemoryWeightCache(), {
      endpoint: base,
      retryDelayMs: 1,
    });
    expect(atRevision.cached?.sha256).toBe(sha(V1));

    const tamperedCache = new MemoryWeightCache();
    const tampered = await loadWeightFile({ ...hub, repo: 'org/tampered' }, tamperedCache, {
      endpoint: base,
      retryDelayMs: 1,
    }).catch((e: unknown) => e);
    expect(tampered).toBeInstanceOf(DearliError);
    expect(tampered).toMatchObject({ code: 'download-corrupt', file: 'model.safetensors' });
    expect((tampered as DearliError).message).toMatch(
      new RegExp(`but the file should have 300000 bytes and sha256 ${sha(V1)}`),
    );
    expect(await tamperedCache.list()).toEqual([]);

    const missing = loadWeightFile({ ...hub, file: 'other.safetensors' }, new MemoryWeightCache(), { endpoint: base });
    await expect(missing).rejects.toMatchObject({ code: 'hub-file', file: 'org/hub' });
  });

  it('names a malformed LFS entry of the hub API and downloads nothing', async () => {
    await expect(listHubFiles('org/bad-lfs', { endpoint: base })).rejects.toMatchObject({
      code: 'hub-malformed',
      file: 'org/bad-lfs',
      message: expect.stringMatching(/"lfs" entry for model\.safetensors without a lowercase hex sha256/),
    });
    const cache = new MemoryWeightCache();
    await expect(
      loadWeightFile({ kind: 'hub', repo: 'org/bad-lfs', file: 'model.safetensors' }, cache, { endpoint: base }),
    ).rejects.toMatchObject({ code: 'hub-malformed' });
    expect(await cache.list()).toEqual([]);
  });

  it('replaces a cached copy that is not the expected file', async () => {
    const cache = new MemoryWeightCache();
    await loadWeightFile({ kind: 'url', url: `${base}/ok.bin` }, cache, { retryDelayMs: 1 });
    const stale = await cache.begin(`${base}/ok.bin`);
    await stale.write(new TextEncoder().encode('<html>'));
    await stale.commit({
      key: `${base}/ok.bin`,
      name: 'ok.bin',
      sourceUrl: `${base}/ok.bin`,
      size: 6,
      sha256: 'x',
      date: new Date().toISOString(),
    });
    const fresh = await loadWeightFile({ kind: 'url', url: `${base}/ok.bin` }, cache, {
      retryDelayMs: 1,
      expected: { sha256: sha(V1) },
    });
    expect(fresh.cached?.sha256).toBe(sha(V1));
    expect(fresh.blob.size).toBe(V1.length);
  });
});

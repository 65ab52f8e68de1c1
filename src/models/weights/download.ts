/**
 * Streaming download of one file into the weight cache: progress (bytes, MB/s, ETA), cancellation through an
 * AbortSignal, resumption with an HTTP Range request after a dropped connection (or a clean restart when the server
 * ignores Range), SHA-256 computed on the fly, and an atomic commit: nothing leaves its temporary name unless every
 * byte arrived and the size and sha256 match what was expected (the caller's expectation, else the hub's
 * `x-linked-size` / `x-linked-etag`). A resume is spliced only onto the same version (same validator); an HTML or
 * JSON error page is refused with its URL and status; a compressed body is bounded by size as it inflates.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { DearliError } from '../../core/errors';
import { inflateBound } from '../../core/limits';
import type { CachedFile, PendingCacheWrite, WeightCache } from './cache';

export interface DownloadProgress {
  receivedBytes: number;
  /** null when the server does not say how long the file is. */
  totalBytes: number | null;
  /** Over the last few seconds. */
  megabytesPerSecond: number;
  /** null while the size or the speed is unknown. */
  etaSeconds: number | null;
  /** 1 for the first request, then one more per resume or restart. */
  attempt: number;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Requests made in total before giving up (a resume counts as one). */
  maxAttempts?: number;
  /** Wait before the first retry; doubles after each further failure. */
  retryDelayMs?: number;
  /** Extra request headers, e.g. `Authorization` for gated Hugging Face repos. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export interface DownloadTarget {
  key: string;
  url: string;
  name: string;
  /** What the file must be (from a share link or the hub); checked before the file is committed. */
  expected?: ExpectedFile;
}

export interface ExpectedFile {
  /** Lowercase hex. */
  sha256?: string;
  size?: number;
}

const PROGRESS_INTERVAL_MS = 100;
const SPEED_WINDOW_MS = 3000;

/** Thrown for failures worth another try (connection lost, body shorter than announced, HTTP 5xx/408/429). */
class RetryableError extends Error {}

function cancelled(name: string): DearliError {
  return new DearliError(
    'download-cancelled',
    'the download was cancelled',
    'Start it again when you want the file; nothing was kept.',
    name,
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Measures speed over a sliding window and reports at most every PROGRESS_INTERVAL_MS (plus once at the end). */
class ProgressMeter {
  private samples: { t: number; bytes: number }[] = [];
  private lastReport = -Infinity;

  constructor(private readonly onProgress: ((p: DownloadProgress) => void) | undefined) {}

  update(receivedBytes: number, totalBytes: number | null, attempt: number, force = false): void {
    if (!this.onProgress) return;
    const now = performance.now();
    this.samples.push({ t: now, bytes: receivedBytes });
    while (this.samples.length > 2 && now - this.samples[0].t > SPEED_WINDOW_MS) this.samples.shift();
    if (!force && now - this.lastReport < PROGRESS_INTERVAL_MS) return;
    this.lastReport = now;
    const first = this.samples[0];
    const seconds = (now - first.t) / 1000;
    const bytesPerSecond = seconds > 0 ? Math.max(0, receivedBytes - first.bytes) / seconds : 0;
    let etaSeconds: number | null = null;
    if (totalBytes !== null && receivedBytes >= totalBytes) etaSeconds = 0;
    else if (totalBytes !== null && bytesPerSecond > 0) etaSeconds = (totalBytes - receivedBytes) / bytesPerSecond;
    this.onProgress({ receivedBytes, totalBytes, megabytesPerSecond: bytesPerSecond / 1e6, etaSeconds, attempt });
  }

  /** A restarted download starts its speed window anew. */
  reset(): void {
    this.samples = [];
  }
}

/** Total length from `Content-Range: bytes a-b/total`, or null. */
function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const m = header?.match(/^bytes (\d+)-\d+\/(\d+|\*)$/);
  return m ? { start: Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) } : null;
}

/** Downloads `target.url` into `cache` under `target.key` and returns the committed file. */
export async function downloadToCache(
  cache: WeightCache,
  target: DownloadTarget,
  options: DownloadOptions = {},
): Promise<CachedFile> {
  const { signal, maxAttempts = 6, retryDelayMs = 1000 } = options;
  const fetchFile = options.fetch ?? globalThis.fetch.bind(globalThis);
  if (signal?.aborted) throw cancelled(target.name);
  const pending = await cache.begin(target.key);
  const hasher = await createSHA256();
  hasher.init();
  const meter = new ProgressMeter(options.onProgress);
  const state: AttemptState = {
    totalBytes: null,
    validator: null,
    attempt: 1,
    options,
    expected: { ...target.expected },
    inflateCap: null,
  };
  try {
    for (; ; state.attempt++) {
      const { attempt } = state;
      try {
        if (await fetchOnce(fetchFile, target, pending, hasher, meter, state)) break;
        throw new RetryableError('the connection closed before the whole file arrived');
      } catch (e) {
        if (signal?.aborted) throw cancelled(target.name);
        if (!(e instanceof RetryableError) || attempt >= maxAttempts) {
          if (e instanceof DearliError) throw e;
          throw new DearliError(
            'download-failed',
            `${(e as Error).message} (after ${attempt} attempt${attempt > 1 ? 's' : ''})`,
            'Check the network connection and try again; or download the file yourself and drop it here.',
            target.name,
          );
        }
        await sleep(retryDelayMs * 2 ** (attempt - 1), signal).catch(() => {
          throw cancelled(target.name);
        });
      }
    }
    meter.update(pending.bytesWritten, state.totalBytes ?? pending.bytesWritten, state.attempt, true);
    const sha256 = hasher.digest('hex');
    const { expected } = state;
    if (
      (expected.size !== undefined && pending.bytesWritten !== expected.size) ||
      (expected.sha256 !== undefined && sha256 !== expected.sha256)
    ) {
      throw new DearliError(
        'download-corrupt',
        `${target.url} gave ${pending.bytesWritten} bytes with sha256 ${sha256}, but the file should have ${expected.size ?? 'any number of'} bytes${expected.sha256 ? ` and sha256 ${expected.sha256}` : ''}; nothing was kept`,
        'Download it again; if this repeats, the server or a proxy alters the file: download it yourself and drop it here.',
        target.name,
      );
    }
    await pending.commit({
      key: target.key,
      name: target.name,
      sourceUrl: target.url,
      size: pending.bytesWritten,
      sha256,
      date: new Date().toISOString(),
    });
  } catch (e) {
    await pending.abort();
    throw e;
  }
  const stored = await cache.get(target.key);
  if (!stored)
    throw new DearliError(
      'cache-failed',
      'the downloaded file could not be read back from the browser cache',
      'Free some storage space (or allow persistent storage) and download again.',
      target.name,
    );
  return stored;
}

/** What the requests of one download learn and share. */
interface AttemptState {
  /** From Content-Length / Content-Range; null when the server does not say. */
  totalBytes: number | null;
  /** ETag or Last-Modified of the response: a resume must get the same file (If-Range). */
  validator: string | null;
  attempt: number;
  options: DownloadOptions;
  /** The target's expectation, completed from the hub's headers of the first response. */
  expected: ExpectedFile;
  /** For a compressed body of unknown inflated size: the most bytes it may inflate to. */
  inflateCap: number | null;
}

/** The hub announces an LFS file's sha256 (`x-linked-etag`) and size (`x-linked-size`). */
function announcedFile(response: Response): ExpectedFile {
  const out: ExpectedFile = {};
  const etag = response.headers.get('x-linked-etag')?.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  if (etag && /^[0-9a-f]{64}$/.test(etag)) out.sha256 = etag;
  const size = Number(response.headers.get('x-linked-size') ?? NaN);
  if (Number.isSafeInteger(size) && size >= 0) out.size = size;
  return out;
}

/** An error page instead of the file: HTML always, JSON unless a .json file was asked for. */
function isErrorPage(response: Response, name: string): boolean {
  const type = (response.headers.get('content-type') ?? '').toLowerCase();
  return type.includes('text/html') || (type.includes('json') && !name.toLowerCase().endsWith('.json'));
}

/**
 * One HTTP request: resumes from `pending.bytesWritten` when it can, appends what arrives, and tells whether the
 * file is whole. Updates `state` as soon as the headers arrive, so a broken body still leaves what a resume needs.
 */
async function fetchOnce(
  fetchFile: typeof fetch,
  target: DownloadTarget,
  pending: PendingCacheWrite,
  hasher: IHasher,
  meter: ProgressMeter,
  state: AttemptState,
): Promise<boolean> {
  const resumeFrom = pending.bytesWritten;
  const headers: Record<string, string> = { ...state.options.headers };
  if (resumeFrom > 0) {
    headers.Range = `bytes=${resumeFrom}-`;
    if (state.validator) headers['If-Range'] = state.validator;
  }
  let response: Response;
  try {
    response = await fetchFile(target.url, { headers, signal: state.options.signal });
  } catch (e) {
    throw new RetryableError(`the server could not be reached (${(e as Error).message})`);
  }
  if (response.ok && isErrorPage(response, target.name)) {
    await response.body?.cancel().catch(() => undefined);
    throw new DearliError(
      'download-not-file',
      `${target.url} answered HTTP ${response.status} with a ${response.headers.get('content-type')} page instead of the file; nothing was kept`,
      'The link may need a login or point to a web page: open it in the browser, or download the file yourself and drop it here.',
      target.name,
    );
  }
  if (response.ok) {
    const announced = announcedFile(response);
    for (const key of ['sha256', 'size'] as const) {
      if (announced[key] === undefined) continue;
      if (state.expected[key] !== undefined && state.expected[key] !== announced[key]) {
        await response.body?.cancel().catch(() => undefined);
        throw new DearliError(
          'download-corrupt',
          `the server announces ${key} ${announced[key]} for ${target.url}, but ${state.expected[key]} was expected`,
          'The file changed on the server or the link is wrong: check the source.',
          target.name,
        );
      }
      (state.expected as Record<string, unknown>)[key] = announced[key];
    }
  }
  const etag = response.headers.get('etag');
  const validator = etag && !etag.startsWith('W/') ? etag : response.headers.get('last-modified');
  // A 206 for another version (a server that ignores If-Range) must not be spliced onto what we have.
  const sameVersion = resumeFrom > 0 && state.validator !== null && validator === state.validator;
  if (response.status === 206 && resumeFrom > 0 && sameVersion) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (!range || range.start !== resumeFrom)
      throw new RetryableError(`the server resumed at the wrong place (${response.headers.get('content-range')})`);
    state.totalBytes = range.total ?? state.totalBytes;
  } else if (response.status === 206 && resumeFrom > 0) {
    await response.body?.cancel().catch(() => undefined);
    await pending.restart();
    hasher.init();
    meter.reset();
    state.validator = null;
    throw new RetryableError('the server resumed a different version of the file; starting over');
  } else if (response.ok && response.status !== 206) {
    if (resumeFrom > 0) {
      // The server ignored Range (or the file changed): start over from byte 0.
      await pending.restart();
      hasher.init();
      meter.reset();
    }
    const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const length = response.headers.get('content-length');
    state.totalBytes = !encoded && length !== null ? Number(length) : null;
    // The body arrives inflated: bound it by the expected size, else by the ratio cap on its encoded length.
    state.inflateCap = !encoded
      ? null
      : (state.expected.size ?? (length !== null ? inflateBound(Number(length)) : null));
  } else {
    await response.body?.cancel().catch(() => undefined);
    const problem = `the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''} for ${target.url}`;
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new RetryableError(problem);
    const fix =
      response.status === 401 || response.status === 403
        ? 'The repository may be gated or private: accept its licence on huggingface.co and give an access token, or drop the file here.'
        : 'Check the model name or URL.';
    throw new DearliError('download-http', problem, fix, target.name);
  }
  state.validator = validator;
  if (!response.body) throw new RetryableError('the response has no body');
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const limit = state.totalBytes ?? state.inflateCap ?? state.expected.size;
      if (limit !== null && limit !== undefined && pending.bytesWritten + value.length > limit) {
        throw new DearliError(
          'download-failed',
          `${target.url} sent more than the ${limit} bytes the file ${state.inflateCap !== null ? 'may inflate to' : 'should have'}; nothing was kept`,
          'Try again later or download the file yourself and drop it here.',
          target.name,
        );
      }
      hasher.update(value);
      await pending.write(value);
      meter.update(pending.bytesWritten, state.totalBytes, state.attempt);
    }
  } catch (e) {
    if (state.options.signal?.aborted || e instanceof DearliError) throw e;
    // Broken after the last byte: the file is whole (asking for the empty rest would only earn an HTTP 416).
    if (state.totalBytes !== null && pending.bytesWritten === state.totalBytes) return true;
    throw new RetryableError(`the connection broke after ${pending.bytesWritten} bytes (${(e as Error).message})`);
  } finally {
    reader.releaseLock();
  }
  const { totalBytes } = state;
  if (totalBytes !== null && pending.bytesWritten > totalBytes) {
    throw new DearliError(
      'download-failed',
      `the server sent ${pending.bytesWritten} bytes for a file of ${totalBytes}`,
      'Try again later or download the file yourself and drop it here.',
      target.name,
    );
  }
  if (totalBytes !== null) return pending.bytesWritten === totalBytes;
  // No length announced: a body shorter than the expected size was cut, not complete.
  return state.expected.size === undefined || pending.bytesWritten >= state.expected.size;
}

/** Copies a Blob the user dropped into the cache (hashed on the way), so it survives a reload. */
export async function storeBlobInCache(
  cache: WeightCache,
  target: DownloadTarget,
  blob: Blob,
  options: Pick<DownloadOptions, 'signal' | 'onProgress'> = {},
): Promise<CachedFile> {
  const pending = await cache.begin(target.key);
  const hasher = await createSHA256();
  hasher.init();
  const meter = new ProgressMeter(options.onProgress);
  const reader = blob.stream().getReader();
  try {
    for (;;) {
      if (options.signal?.aborted) throw cancelled(target.name);
      const { done, value } = await reader.read();
      if (done) break;
      hasher.update(value);
      await pending.write(value);
      meter.update(pending.bytesWritten, blob.size, 1);
    }
    meter.update(pending.bytesWritten, blob.size, 1, true);
    await pending.commit({
      key: target.key,
      name: target.name,
      sourceUrl: target.url,
      size: blob.size,
      sha256: hasher.digest('hex'),
      date: new Date().toISOString(),
    });
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    await pending.abort();
    throw e;
  }
  const stored = await cache.get(target.key);
  if (!stored)
    throw new DearliError(
      'cache-failed',
      'the file could not be read back from the browser cache',
      'Free some storage space (or allow persistent storage) and try again.',
      target.name,
    );
  return stored;
}

/**
 * Where weight and vocabulary files come from: a Hugging Face hub repo (file list asked from the hub API at run time),
 * any URL, or a File the user dropped. The single entry point `loadWeightFile` serves cached copies first and
 * downloads into the cache otherwise (see download.ts, cache.ts).
 */
import { DearliError } from '../../core/errors';
import { LIMITS } from '../../core/limits';
import type { CachedFile, CachedFileInfo, WeightCache } from './cache';
import { downloadToCache, storeBlobInCache, type DownloadOptions, type ExpectedFile } from './download';

const HF_ENDPOINT = 'https://huggingface.co';

/** open_clip's own order: its safetensors, then generic safetensors, then the pickle (open_clip pretrained.py). */
const WEIGHT_FILE_PREFERENCE: readonly string[] = [
  'open_clip_model.safetensors',
  'model.safetensors',
  'open_clip_pytorch_model.bin',
];

export type WeightSource =
  /** `file` omitted: the best weight file of the repo by WEIGHT_FILE_PREFERENCE. */
  | { kind: 'hub'; repo: string; file?: string; revision?: string }
  | { kind: 'url'; url: string; name?: string }
  /** A dropped File; `keepInCache` copies it into the cache so it survives a reload. */
  | { kind: 'file'; file: File; keepInCache?: boolean };

export interface HubOptions {
  /** Defaults to https://huggingface.co (tests point it at a local server). */
  endpoint?: string;
  /** Hugging Face access token for gated or private repos. */
  accessToken?: string;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export interface WeightFile {
  blob: Blob;
  name: string;
  sourceUrl: string;
  /** Cache record, null for a dropped file that was not copied into the cache. */
  cached: CachedFileInfo | null;
}

const REPO_ID = /^[\w.-]+(\/[\w.-]+)?$/;

function checkRepo(repo: string): void {
  if (!REPO_ID.test(repo) || repo.includes('..')) {
    throw new DearliError(
      'hub-repo',
      `"${repo}" is not a Hugging Face repository name`,
      'Write it as owner/name, e.g. laion/CLIP-convnext_base_w-laion2B-s13B-b82K-augreg.',
    );
  }
}

function authHeaders(options: HubOptions): Record<string, string> {
  return options.accessToken ? { Authorization: `Bearer ${options.accessToken}` } : {};
}

/** `https://huggingface.co/<repo>/resolve/<revision>/<file>` with each path segment escaped. */
export function hubFileUrl(repo: string, file: string, revision = 'main', endpoint = HF_ENDPOINT): string {
  checkRepo(repo);
  checkHubFileName(file, repo);
  if (revision === '.' || revision === '..' || revision === '')
    throw new DearliError('hub-file', `"${revision}" is not a revision`, 'Name a branch, tag or commit.', repo);
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** A repository file as the hub API describes it: its name and what its download must be. */
interface HubFile {
  name: string;
  /** sha256 and size for LFS files (weights); the size alone for small files kept in git. */
  expected: ExpectedFile;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const isByteCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The files of a hub repo with their LFS sha256 and size, from `GET /api/models/<repo>[/revision/<rev>]?blobs=true`.
 * In a browser the file downloads are redirected to a CDN whose answer lacks the hub's `x-linked-*` headers, so
 * this is where the expected sha256 and size of a hub file come from.
 */
async function describeHubFiles(repo: string, options: HubOptions & { revision?: string }): Promise<HubFile[]> {
  checkRepo(repo);
  const revision = options.revision === undefined ? '' : `/revision/${encodeURIComponent(options.revision)}`;
  const url = `${options.endpoint ?? HF_ENDPOINT}/api/models/${repo}${revision}?blobs=true`;
  const fetchJson = options.fetch ?? globalThis.fetch.bind(globalThis);
  let response: Response;
  try {
    response = await fetchJson(url, { headers: authHeaders(options), signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw new DearliError(
      'hub-unreachable',
      `the Hugging Face hub could not be reached (${(e as Error).message})`,
      'Check the network connection, or download the weight file yourself and drop it here.',
      repo,
    );
  }
  if (!response.ok) {
    const fix =
      response.status === 401 || response.status === 403 || response.status === 404
        ? 'Check the repository name; gated or private repositories need an access token.'
        : 'Try again later, or download the weight file yourself and drop it here.';
    throw new DearliError('hub-http', `the hub answered HTTP ${response.status} for ${url}`, fix, repo);
  }
  const malformed = (what: string) =>
    new DearliError(
      'hub-malformed',
      `the hub answered ${url} with ${what}, not a model description`,
      'The endpoint is not a Hugging Face hub, or a proxy or login page answered instead: check the network or the endpoint.',
      repo,
    );
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > LIMITS.jsonBytes) throw malformed(`${length} bytes`);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw malformed(`a body that is not JSON (${JSON.stringify(text.slice(0, 40))}…)`);
  }
  const siblings = (body as { siblings?: unknown } | null)?.siblings;
  if (!Array.isArray(siblings)) throw malformed('JSON without a "siblings" list');
  return siblings.map((s: unknown): HubFile => {
    const { rfilename: name, size, lfs } = (s ?? {}) as { rfilename?: unknown; size?: unknown; lfs?: unknown };
    if (typeof name !== 'string') throw malformed('a "siblings" entry without a file name');
    if (size !== undefined && !isByteCount(size)) throw malformed(`a size of ${JSON.stringify(size)} for ${name}`);
    if (lfs === undefined) return { name, expected: size === undefined ? {} : { size } };
    const { sha256, size: lfsSize } = (lfs ?? {}) as { sha256?: unknown; size?: unknown };
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256) || !isByteCount(lfsSize))
      throw malformed(`an "lfs" entry for ${name} without a lowercase hex sha256 and a byte count`);
    if (size !== undefined && size !== lfsSize) throw malformed(`${name} with size ${size} but LFS size ${lfsSize}`);
    return { name, expected: { sha256, size: lfsSize } };
  });
}

/** The file names of a hub repo (see describeHubFiles). */
export async function listHubFiles(repo: string, options: HubOptions & { revision?: string } = {}): Promise<string[]> {
  return (await describeHubFiles(repo, options)).map((f) => f.name);
}

/** What one named hub file must be, as the hub API announces it. */
async function expectedHubFile(
  source: { repo: string; file: string; revision?: string },
  options: HubOptions,
): Promise<ExpectedFile> {
  const files = await describeHubFiles(source.repo, { ...options, revision: source.revision });
  const found = files.find((f) => f.name === source.file);
  if (!found) {
    throw new DearliError(
      'hub-file',
      `the repository has no file "${source.file}"${source.revision ? ` at revision ${source.revision}` : ''}`,
      'Name a file of the repository as the hub lists it, e.g. open_clip_model.safetensors.',
      source.repo,
    );
  }
  return found.expected;
}

/** A repository file name must stay inside the repository: no empty, "." or ".." segments, no backslashes or absolute paths. */
function checkHubFileName(file: string, repo: string): void {
  if (
    file === '' ||
    file.startsWith('/') ||
    file.includes('\\') ||
    file.split('/').some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new DearliError(
      'hub-file',
      `"${file}" is not a file name inside the repository`,
      'Name a file of the repository as the hub lists it, e.g. open_clip_model.safetensors.',
      repo,
    );
  }
}

/** The preferred weight file among `files`, or null. */
export function pickWeightFile(
  files: readonly string[],
  preference: readonly string[] = WEIGHT_FILE_PREFERENCE,
): string | null {
  return preference.find((name) => files.includes(name)) ?? null;
}

/**
 * Key, URL and display name of a hub or URL source. When no hub file is named, the hub API is asked which files the
 * repo has, and the chosen file's expected sha256 and size come back with it.
 */
export async function resolveWeightSource(
  source: Exclude<WeightSource, { kind: 'file' }>,
  options: HubOptions = {},
): Promise<{ key: string; url: string; name: string; expected?: ExpectedFile }> {
  if (source.kind === 'url') {
    let parsed: URL;
    try {
      parsed = new URL(source.url);
    } catch {
      throw new DearliError(
        'bad-url',
        `"${source.url}" is not a URL`,
        'Paste the full address, starting with https://.',
      );
    }
    const name = source.name ?? decodeURIComponent(parsed.pathname.split('/').pop() || parsed.hostname);
    return { key: source.url, url: source.url, name };
  }
  const revision = source.revision ?? 'main';
  let file = source.file;
  let expected: ExpectedFile | undefined;
  if (!file) {
    const files = await describeHubFiles(source.repo, { ...options, revision: source.revision });
    file = pickWeightFile(files.map((f) => f.name)) ?? undefined;
    expected = files.find((f) => f.name === file)?.expected;
    if (!file) {
      throw new DearliError(
        'hub-no-weights',
        `the repository has none of ${WEIGHT_FILE_PREFERENCE.join(', ')}`,
        'Pick another repository, or name the weight file explicitly.',
        source.repo,
      );
    }
  }
  return {
    key: `hf:${source.repo}@${revision}/${file}`,
    url: hubFileUrl(source.repo, file, revision, options.endpoint),
    name: file.split('/').pop()!,
    expected,
  };
}

/** A weight or vocabulary file as a Blob: from the cache when present, else downloaded (or copied) into it. */
export async function loadWeightFile(
  source: WeightSource,
  cache: WeightCache,
  options: HubOptions & Omit<DownloadOptions, 'fetch' | 'headers' | 'signal'> & { expected?: ExpectedFile } = {},
): Promise<WeightFile> {
  const asWeightFile = ({ info, blob }: CachedFile): WeightFile => ({
    blob,
    name: info.name,
    sourceUrl: info.sourceUrl,
    cached: info,
  });
  if (source.kind === 'file') {
    const { file } = source;
    const sourceUrl = `file:${file.name}`;
    if (!source.keepInCache) return { blob: file, name: file.name, sourceUrl, cached: null };
    const target = { key: `file:${file.name}:${file.size}:${file.lastModified}`, url: sourceUrl, name: file.name };
    return asWeightFile((await cache.get(target.key)) ?? (await storeBlobInCache(cache, target, file, options)));
  }
  const resolved = await resolveWeightSource(source, options);
  const hit = await cache.get(resolved.key);
  // A cached copy that is not the expected file (another version, or cached before checks existed) is replaced.
  if (hit && (!options.expected?.sha256 || hit.info.sha256 === options.expected.sha256)) return asWeightFile(hit);
  if (hit) await cache.delete(resolved.key);
  // A hub file is checked against the sha256 and size the hub API announces (asked only on a cache miss, so cached
  // files open offline); the caller's own expectation takes precedence.
  const hubExpected =
    source.kind === 'hub' && source.file
      ? await expectedHubFile({ ...source, file: source.file }, options)
      : resolved.expected;
  const target = { ...resolved, expected: { ...hubExpected, ...options.expected } };
  // The token is for huggingface.co only, never for arbitrary URLs.
  const headers = source.kind === 'hub' ? authHeaders(options) : {};
  const downloaded = await downloadToCache(cache, target, { ...options, headers });
  return asWeightFile(downloaded);
}

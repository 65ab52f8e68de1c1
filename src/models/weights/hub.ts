/**
 * Where weight and vocabulary files come from: a Hugging Face hub repo (file list asked from the hub API at run time),
 * any URL, or a File the user dropped. The single entry point `loadWeightFile` serves cached copies first and
 * downloads into the cache otherwise (see download.ts, cache.ts).
 */
import { DearliError } from '../../core/errors';
import type { CachedFile, CachedFileInfo, WeightCache } from './cache';
import { downloadToCache, storeBlobInCache, type DownloadOptions } from './download';

export const HF_ENDPOINT = 'https://huggingface.co';

/** open_clip's own order: its safetensors, then generic safetensors, then the pickle (open_clip pretrained.py). */
export const WEIGHT_FILE_PREFERENCE: readonly string[] = ['open_clip_model.safetensors', 'model.safetensors', 'open_clip_pytorch_model.bin'];

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
    throw new DearliError('hub-repo', `"${repo}" is not a Hugging Face repository name`, 'Write it as owner/name, e.g. laion/CLIP-convnext_base_w-laion2B-s13B-b82K-augreg.');
  }
}

function authHeaders(options: HubOptions): Record<string, string> {
  return options.accessToken ? { Authorization: `Bearer ${options.accessToken}` } : {};
}

/** `https://huggingface.co/<repo>/resolve/<revision>/<file>` with each path segment escaped. */
export function hubFileUrl(repo: string, file: string, revision = 'main', endpoint = HF_ENDPOINT): string {
  checkRepo(repo);
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** The files of a hub repo, from `GET /api/models/<repo>` (`siblings[].rfilename`). */
export async function listHubFiles(repo: string, options: HubOptions = {}): Promise<string[]> {
  checkRepo(repo);
  const url = `${options.endpoint ?? HF_ENDPOINT}/api/models/${repo}`;
  const fetchJson = options.fetch ?? globalThis.fetch.bind(globalThis);
  let response: Response;
  try {
    response = await fetchJson(url, { headers: authHeaders(options), signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw new DearliError('hub-unreachable', `the Hugging Face hub could not be reached (${(e as Error).message})`, 'Check the network connection, or download the weight file yourself and drop it here.', repo);
  }
  if (!response.ok) {
    const fix = response.status === 401 || response.status === 403 || response.status === 404
      ? 'Check the repository name; gated or private repositories need an access token.'
      : 'Try again later, or download the weight file yourself and drop it here.';
    throw new DearliError('hub-http', `the hub answered HTTP ${response.status} for ${url}`, fix, repo);
  }
  const body = (await response.json()) as { siblings?: { rfilename?: unknown }[] };
  return (body.siblings ?? []).map((s) => s.rfilename).filter((f): f is string => typeof f === 'string');
}

/** The preferred weight file among `files`, or null. */
export function pickWeightFile(files: readonly string[], preference: readonly string[] = WEIGHT_FILE_PREFERENCE): string | null {
  return preference.find((name) => files.includes(name)) ?? null;
}

/** Key, URL and display name of a hub or URL source (asks the hub for the file list when no file is named). */
export async function resolveWeightSource(
  source: Exclude<WeightSource, { kind: 'file' }>,
  options: HubOptions = {},
): Promise<{ key: string; url: string; name: string }> {
  if (source.kind === 'url') {
    let parsed: URL;
    try {
      parsed = new URL(source.url);
    } catch {
      throw new DearliError('bad-url', `"${source.url}" is not a URL`, 'Paste the full address, starting with https://.');
    }
    const name = source.name ?? decodeURIComponent(parsed.pathname.split('/').pop() || parsed.hostname);
    return { key: source.url, url: source.url, name };
  }
  const revision = source.revision ?? 'main';
  let file = source.file;
  if (!file) {
    const files = await listHubFiles(source.repo, options);
    file = pickWeightFile(files) ?? undefined;
    if (!file) {
      throw new DearliError('hub-no-weights', `the repository has none of ${WEIGHT_FILE_PREFERENCE.join(', ')}`, 'Pick another repository, or name the weight file explicitly.', source.repo);
    }
  }
  return { key: `hf:${source.repo}@${revision}/${file}`, url: hubFileUrl(source.repo, file, revision, options.endpoint), name: file.split('/').pop()! };
}

/** A weight or vocabulary file as a Blob: from the cache when present, else downloaded (or copied) into it. */
export async function loadWeightFile(
  source: WeightSource,
  cache: WeightCache,
  options: HubOptions & Omit<DownloadOptions, 'fetch' | 'headers' | 'signal'> = {},
): Promise<WeightFile> {
  const asWeightFile = ({ info, blob }: CachedFile): WeightFile => ({ blob, name: info.name, sourceUrl: info.sourceUrl, cached: info });
  if (source.kind === 'file') {
    const { file } = source;
    const sourceUrl = `file:${file.name}`;
    if (!source.keepInCache) return { blob: file, name: file.name, sourceUrl, cached: null };
    const target = { key: `file:${file.name}:${file.size}:${file.lastModified}`, url: sourceUrl, name: file.name };
    return asWeightFile((await cache.get(target.key)) ?? (await storeBlobInCache(cache, target, file, options)));
  }
  const target = await resolveWeightSource(source, options);
  const hit = await cache.get(target.key);
  if (hit) return asWeightFile(hit);
  // The token is for huggingface.co only, never for arbitrary URLs.
  const headers = source.kind === 'hub' ? authHeaders(options) : {};
  const downloaded = await downloadToCache(cache, target, { ...options, headers });
  return asWeightFile(downloaded);
}

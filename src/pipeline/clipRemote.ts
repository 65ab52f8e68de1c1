/**
 * Where a CLIP came from, as another browser can fetch it again: the load request with hub and URL
 * files only. A model bundle's card carries it, so opening a shared model loads the CLIP it names.
 */
import { DearliError } from '../core/errors';
import type { ClipLoadRequest, FileSource, RemoteClipRequest, RemoteFileSource } from './modelsApi';

const isRemote = (s: FileSource): s is RemoteFileSource => s.kind !== 'file';

/** The request another browser replays (the hub file pinned to the one loaded); null when a file was dropped. */
export function remoteClipRequest(request: ClipLoadRequest, weightsName: string): RemoteClipRequest | null {
  const { weights, config, tokenizer } = request;
  if (!isRemote(weights) || (tokenizer && !isRemote(tokenizer))) return null;
  if (config.kind !== 'preset' && config.kind !== 'next-to-weights' && !isRemote(config)) return null;
  return {
    weights: weights.kind === 'hub' ? { ...weights, file: weights.file ?? weightsName } : weights,
    config,
    tokenizer,
  };
}

/** How a message names the CLIP: its hub repository, else its URL. */
export function clipId(remote: RemoteClipRequest): string {
  return remote.weights.kind === 'hub' ? remote.weights.repo : remote.weights.url;
}

/** Longest string the card may hold in a source (a URL or a repository path). */
const MAX_SOURCE_CHARS = 2048;

const HUB_REPO = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/** A model card's CLIP source, from a stranger: each field checked before the lab fetches anything. */
export function parseRemoteClipRequest(value: unknown, from: string): RemoteClipRequest {
  const malformed = (what: string): never => {
    throw new DearliError(
      'bundle-card',
      `the card's CLIP source is malformed (${what})`,
      'Check that model.json is the one the lab exported, or load the CLIP on the Models tab first.',
      from,
    );
  };
  const text = (v: unknown, what: string): string =>
    typeof v === 'string' && v.length > 0 && v.length <= MAX_SOURCE_CHARS ? v : malformed(`${what} is not a string`);
  const optional = (v: unknown, what: string) => (v === undefined ? {} : { [what]: text(v, what) });
  const file = (v: unknown, what: string): RemoteFileSource => {
    const s = (v ?? {}) as Record<string, unknown>;
    if (s.kind === 'hub') {
      const repo = text(s.repo, `${what}.repo`);
      if (!HUB_REPO.test(repo)) malformed(`${what}.repo "${repo}" is not a hub repository id`);
      return { kind: 'hub', repo, ...optional(s.file, 'file'), ...optional(s.revision, 'revision') };
    }
    if (s.kind === 'url') {
      const url = text(s.url, `${what}.url`);
      if (!/^https?:\/\//.test(url) || !URL.canParse(url)) malformed(`${what}.url "${url}" is not an http(s) URL`);
      return { kind: 'url', url };
    }
    return malformed(`${what} is neither a hub file nor a URL`);
  };
  const r = (value ?? {}) as Record<string, unknown>;
  const c = (r.config ?? {}) as Record<string, unknown>;
  const config: RemoteClipRequest['config'] =
    c.kind === 'preset'
      ? { kind: 'preset', preset: text(c.preset, 'config.preset') }
      : c.kind === 'next-to-weights'
        ? { kind: 'next-to-weights' }
        : file(c, 'config');
  return {
    weights: file(r.weights, 'weights'),
    config,
    tokenizer: r.tokenizer === null ? null : file(r.tokenizer, 'tokenizer'),
  };
}

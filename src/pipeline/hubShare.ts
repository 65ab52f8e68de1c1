/**
 * Sharing a model bundle: push it to a Hugging Face Hub model repository (with `@huggingface/hub`,
 * the hub's own client) and make the share link `<lab URL>#model=<URL of model.json>&sha256=<hex>`.
 * The access token lives only in the arguments of one push: it is sent in the Authorization header
 * and never stored, logged or put into a URL or an error.
 */
import { commit, createRepo, HubApiError } from '@huggingface/hub';
import { sha256 } from 'hash-wasm';
import { DearliError } from '../core/errors';
import type { ModelBundle } from './modelBundle';

const HUB_URL = 'https://huggingface.co';

export interface HubPush {
  /** "user/name" or "org/name". */
  repo: string;
  accessToken: string;
  hubUrl?: string;
  /** Where the lab runs (the share link opens it). */
  labUrl: string;
  onPhase?: (phase: string) => void;
  fetch?: typeof fetch;
}

export interface SharedModel {
  /** The resolve URL of model.json at the pushed commit. */
  cardUrl: string;
  cardSha256: string;
  link: string;
}

const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The three files of a bundle, as they are uploaded or offered for download. */
export function bundleFiles(bundle: ModelBundle): { path: string; content: Blob }[] {
  return [
    {
      path: 'model.safetensors',
      content: new Blob([bundle.weights as BlobPart], { type: 'application/octet-stream' }),
    },
    { path: 'model.json', content: new Blob([cardText(bundle)], { type: 'application/json' }) },
    { path: 'README.md', content: new Blob([bundle.readme], { type: 'text/markdown' }) },
  ];
}

/** model.json exactly as it is uploaded (its sha256 goes into the link). */
export function cardText(bundle: ModelBundle): string {
  return `${JSON.stringify(bundle.card, null, 2)}\n`;
}

export function shareLink(labUrl: string, cardUrl: string, cardSha256: string): string {
  const base = labUrl.replace(/#.*$/, '');
  return `${base}#model=${encodeURIComponent(cardUrl)}&sha256=${cardSha256}`;
}

/** Reads `#model=…&sha256=…`; null when the hash holds no model link. */
export function parseShareLink(hash: string): { cardUrl: string; cardSha256: string } | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const cardUrl = params.get('model');
  if (cardUrl === null) return null;
  const fix = 'Ask for the link again: it should end in #model=<URL of model.json>&sha256=<64 hex digits>.';
  let url: URL;
  try {
    url = new URL(cardUrl);
  } catch {
    throw new DearliError('share-link', `the model URL "${cardUrl}" is not a URL`, fix);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new DearliError('share-link', `the model URL uses ${url.protocol}, not http(s)`, fix);
  const cardSha256 = params.get('sha256') ?? '';
  if (!/^[0-9a-f]{64}$/.test(cardSha256))
    throw new DearliError('share-link', 'the link carries no valid sha256 of model.json', fix);
  return { cardUrl: url.href, cardSha256 };
}

function hubError(e: unknown, repo: string, step: string): never {
  if (e instanceof DearliError) throw e;
  const status = e instanceof HubApiError ? e.statusCode : undefined;
  const fix =
    status === 401 || status === 403
      ? 'Check that the access token is valid and has write permission for this repository (hub settings → Access Tokens).'
      : 'Check the repository name and your connection, then push again.';
  throw new DearliError(
    'hub-push',
    `${step} ${repo} failed${status ? ` (HTTP ${status})` : ''}: ${(e as Error).message}`,
    fix,
  );
}

/** Creates the model repository if needed and commits the bundle; returns the share link. */
export async function pushModelToHub(bundle: ModelBundle, push: HubPush): Promise<SharedModel> {
  if (!REPO_NAME.test(push.repo)) {
    throw new DearliError(
      'hub-push',
      `"${push.repo}" is not a repository name`,
      'Write it as user/name or organisation/name.',
    );
  }
  const hubUrl = (push.hubUrl ?? HUB_URL).replace(/\/$/, '');
  const credentials = { accessToken: push.accessToken, hubUrl, fetch: push.fetch };
  const repo = { type: 'model' as const, name: push.repo };
  push.onPhase?.('creating the repository');
  try {
    await createRepo({ ...credentials, repo });
  } catch (e) {
    // 409: the repository exists already, and the push updates it.
    if (!(e instanceof HubApiError && e.statusCode === 409)) hubError(e, push.repo, 'creating');
  }
  push.onPhase?.('uploading');
  let oid: string | undefined;
  try {
    const out = await commit({
      ...credentials,
      repo,
      title: `DEARLi Lab: ${bundle.card.name}`,
      operations: bundleFiles(bundle).map((f) => ({
        operation: 'addOrUpdate' as const,
        path: f.path,
        content: f.content,
      })),
      useXet: false,
    });
    oid = out?.commit.oid;
  } catch (e) {
    hubError(e, push.repo, 'uploading to');
  }
  const cardUrl = `${hubUrl}/${push.repo}/resolve/${oid ?? 'main'}/model.json`;
  const cardSha256 = await sha256(cardText(bundle));
  return { cardUrl, cardSha256, link: shareLink(push.labUrl, cardUrl, cardSha256) };
}

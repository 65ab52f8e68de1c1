/**
 * What the model forms edit (drafts with every field kept while the user switches kinds) and how a
 * draft becomes the worker's FileSource / ConfigSource. Pure, so it is tested in Node.
 */
import type { ConfigSource, FileSource } from '../../../../workers/api';

export type FileSourceKind = 'hub' | 'url' | 'file';

export interface FileSourceDraft {
  kind: FileSourceKind;
  repo: string;
  url: string;
  file: File | null;
}

export type ConfigSourceKind = 'next-to-weights' | 'preset' | 'url' | 'file';

export interface ConfigSourceDraft {
  kind: ConfigSourceKind;
  preset: string;
  url: string;
  file: File | null;
}

export function fileSourceDraft(repo: string): FileSourceDraft {
  return { kind: 'hub', repo, url: '', file: null };
}

export function configSourceDraft(preset: string): ConfigSourceDraft {
  return { kind: 'next-to-weights', preset, url: '', file: null };
}

/** The source a draft names, or a sentence saying what is missing. */
export function toFileSource(draft: FileSourceDraft, what: string): FileSource | string {
  switch (draft.kind) {
    case 'hub':
      return draft.repo.trim()
        ? { kind: 'hub', repo: draft.repo.trim() }
        : `Name the Hugging Face repository of the ${what}.`;
    case 'url':
      return draft.url.trim() ? { kind: 'url', url: draft.url.trim() } : `Paste the URL of the ${what}.`;
    case 'file':
      return draft.file ? { kind: 'file', file: draft.file } : `Choose the ${what} file.`;
  }
}

export function toConfigSource(draft: ConfigSourceDraft): ConfigSource | string {
  switch (draft.kind) {
    case 'next-to-weights':
      return { kind: 'next-to-weights' };
    case 'preset':
      return { kind: 'preset', preset: draft.preset };
    case 'url':
      return draft.url.trim() ? { kind: 'url', url: draft.url.trim() } : 'Paste the URL of the config file.';
    case 'file':
      return draft.file ? { kind: 'file', file: draft.file } : 'Choose the config file.';
  }
}

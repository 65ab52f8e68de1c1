import { describe, expect, it } from 'vitest';
import { configSourceDraft, fileSourceDraft, toConfigSource, toFileSource } from './sourceDraft';

describe('model source drafts', () => {
  it('turn each kind into the matching source, trimmed', () => {
    const draft = fileSourceDraft(' laion/CLIP ');
    expect(toFileSource(draft, 'weights')).toEqual({ kind: 'hub', repo: 'laion/CLIP' });
    expect(toFileSource({ ...draft, kind: 'url', url: ' https://x.test/w.safetensors ' }, 'weights')).toEqual({
      kind: 'url',
      url: 'https://x.test/w.safetensors',
    });
    const file = new File([new Uint8Array(3)], 'w.safetensors');
    expect(toFileSource({ ...draft, kind: 'file', file }, 'weights')).toEqual({ kind: 'file', file });
  });

  it('say what is missing instead of producing an empty source', () => {
    const draft = fileSourceDraft('');
    expect(toFileSource(draft, 'SAM weights')).toBe('Name the Hugging Face repository of the SAM weights.');
    expect(toFileSource({ ...draft, kind: 'url' }, 'SAM weights')).toBe('Paste the URL of the SAM weights.');
    expect(toFileSource({ ...draft, kind: 'file' }, 'SAM weights')).toBe('Choose the SAM weights file.');
    expect(toConfigSource({ ...configSourceDraft('x'), kind: 'url' })).toBe('Paste the URL of the config file.');
  });

  it('keep the preset and the config next to the weights', () => {
    const draft = configSourceDraft('convnext_base_w_320');
    expect(toConfigSource(draft)).toEqual({ kind: 'next-to-weights' });
    expect(toConfigSource({ ...draft, kind: 'preset' })).toEqual({ kind: 'preset', preset: 'convnext_base_w_320' });
  });
});

import { describe, expect, it } from 'vitest';
import { clipRequestFromFiles } from './weightDrop';

const file = (name: string) => new File([new Uint8Array(1)], name);

describe('CLIP weight drop', () => {
  it('sorts weights, config and tokenizer by name', () => {
    const [w, c, t] = [
      file('open_clip_model.safetensors'),
      file('open_clip_config.json'),
      file('bpe_simple_vocab_16e6.txt.gz'),
    ];
    expect(clipRequestFromFiles([c, t, w, file('README.md')])).toEqual({
      request: {
        weights: { kind: 'file', file: w },
        config: { kind: 'file', file: c },
        tokenizer: { kind: 'file', file: t },
      },
    });
    expect(clipRequestFromFiles([w, c])).toMatchObject({ request: { tokenizer: null } });
  });

  it('names what is missing', () => {
    expect(clipRequestFromFiles([file('config.json')])).toEqual({
      missing: 'no weight file (.safetensors or .bin) among the dropped files',
    });
    expect(clipRequestFromFiles([file('model.safetensors')])).toEqual({
      missing: 'no config file (open_clip_config.json or config.json) beside model.safetensors',
    });
    expect(clipRequestFromFiles([file('a.safetensors'), file('b.bin'), file('config.json')])).toEqual({
      missing: '2 weight files: drop one model at a time',
    });
  });
});

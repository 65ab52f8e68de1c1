import { describe, expect, it } from 'vitest';
import { readFixtureBytes, readFixtureJson } from '../../../test/fixtures';
import { cleanLower, fixText, pythonHtmlUnescape } from './textClean';
import { ClipTokenizer, eotIndex } from './tokenizer';

describe('textClean (ftfy 6.3.1 subset + html.unescape), expectations observed with ftfy 6.3.1 / Python 3.11', () => {
  it.each([
    ['P&EACUTE;REZ &SZLIG; &nTILDE; &NTILDE;', 'pérez ss &ntilde; ñ'],
    ['line1 &amp;amp;amp;\nline2 <b> &amp;amp;amp;\nline3 &amp;amp;amp;', 'line1 & line2 <b> &amp; line3 &amp;'],
    ['&notit; &#x41;&#0;&#128;&#xD800;&#11;', '¬it; a\ufffd€\ufffd'],
    ['â€™quoted â€œthisâ€\x9d', '\'quoted "this"'],
    ['\x93smart\x94', '"smart"'],
    ['cafÃƒÂ© ðŸ˜€', 'café 😀'],
    ['mixed 日本 cafÃ©', 'mixed 日本 café'],
    ['ﬅ ĳ ǆ ＬＯＵＤ　ｶﾀｶﾅ', 'ſt ij dž loud カタカナ'],
    ['a\r\nb\u2028c\x85d \x1b[31mred\x1b[0m ctl\x01\x7f\ufeffend', 'a b c…d red ctlend'],
    ['Ørsted Straße naïve ¿Qué?', 'ørsted straße naïve ¿qué?'],
  ])('%j → %j', (input, cleaned) => {
    expect(cleanLower(input)).toBe(cleaned);
  });

  it('keeps entities in a line that holds "<" and in every line after it', () => {
    expect(fixText('&amp;\n<p> &amp;\n&amp;')).toBe('&\n<p> &amp;\n&amp;');
  });

  it('decodes legacy entities without ";" only in html.unescape, not in the ftfy step', () => {
    expect(fixText('&amp x')).toBe('&amp x');
    expect(pythonHtmlUnescape('&amp x &copy2021')).toBe('& x ©2021');
  });
});

/** HF's vocab.json / merges.txt for CLIP, laid out from the open_clip merges file as transformers ships them. */
async function hfFilesFromOpenClipGz(gz: Uint8Array): Promise<{ vocabJson: string; mergesTxt: string }> {
  const text = await new Response(
    new Blob([gz as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip')),
  ).text();
  const merges = text.split('\n').slice(1, 49152 - 256 - 2 + 1);
  const bytes: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    bytes.push(String.fromCharCode(printable ? b : next++));
  }
  bytes.sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  const tokens = [
    ...bytes,
    ...bytes.map((c) => `${c}</w>`),
    ...merges.map((m) => m.replace(' ', '')),
    '<|startoftext|>',
    '<|endoftext|>',
  ];
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  return { vocabJson: JSON.stringify(vocab), mergesTxt: `#version: 0.2\n${merges.join('\n')}\n` };
}

describe('ClipTokenizer vocabulary sources', () => {
  it('gives the same ids from Hugging Face vocab.json + merges.txt and from tokenizer.json as from the open_clip gz', async () => {
    const gz = await readFixtureBytes('clip-tokenizer/bpe_simple_vocab_16e6.txt.gz');
    const cases = await readFixtureJson<{ text: string; ids: number[] }[]>('clip-tokenizer/tokenizer_cases.json');
    const fromGz = await ClipTokenizer.fromBpeGz(gz);
    const hf = await hfFilesFromOpenClipGz(gz);
    const fromHf = ClipTokenizer.fromHfFiles(hf);
    const vocab = JSON.parse(hf.vocabJson) as Record<string, number>;
    const merges = hf.mergesTxt
      .split('\n')
      .slice(1, -1)
      .map((m) => m.split(' '));
    const fromTokenizerJson = ClipTokenizer.fromHfFiles({
      tokenizerJson: JSON.stringify({
        model: { type: 'BPE', vocab, merges },
        added_tokens: [
          { id: 49406, content: '<|startoftext|>' },
          { id: 49407, content: '<|endoftext|>' },
        ],
      }),
    });
    const texts = cases.map((c) => c.text);
    const expected = fromGz.tokenize(texts).map((r) => Array.from(r));
    expect(fromHf.tokenize(texts).map((r) => Array.from(r))).toEqual(expected);
    expect(fromTokenizerJson.tokenize(texts).map((r) => Array.from(r))).toEqual(expected);
    expect(fromHf.sotId).toBe(fromGz.sotId);
    expect(fromHf.eotId).toBe(fromGz.eotId);
  });

  it('applies merges by rank on a tiny vocabulary and finds the EOT row', () => {
    const vocab = {
      a: 0,
      b: 1,
      'a</w>': 2,
      'b</w>': 3,
      ab: 4,
      'ab</w>': 5,
      'abab</w>': 6,
      '<|startoftext|>': 7,
      '<|endoftext|>': 8,
    };
    const tok = ClipTokenizer.fromHfFiles({
      vocabJson: JSON.stringify(vocab),
      mergesTxt: '#version: 0.2\na b\na b</w>\nab ab</w>\n',
    });
    expect(tok.encode('abab ab a')).toEqual([6, 5, 2]);
    const [row] = tok.tokenize(['abab ab a'], 4);
    expect(Array.from(row)).toEqual([7, 6, 5, 8]);
    expect(eotIndex(row)).toBe(3);
  });

  it('refuses files that are not a CLIP vocabulary', async () => {
    await expect(ClipTokenizer.fromBpeGz(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'v.gz')).rejects.toThrow(
      /v\.gz: the file is neither gzip data nor UTF-8 text/,
    );
    await expect(ClipTokenizer.fromBpeGz(new TextEncoder().encode('header\na b\n'), 'v.txt')).rejects.toThrow(
      /v\.txt: the file has 2 merges, CLIP needs 48894/,
    );
    expect(() => ClipTokenizer.fromHfFiles({ vocabJson: '{"a": 0}', mergesTxt: '' })).toThrow(
      /no <\|startoftext\|> token/,
    );
    expect(() => ClipTokenizer.fromHfFiles({ tokenizerJson: '{' })).toThrow(/not valid JSON/);
  });
});

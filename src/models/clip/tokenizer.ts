/**
 * The CLIP byte-level BPE tokenizer, id for id as open_clip's SimpleTokenizer (context 77, clean="lower").
 *
 * Vocabulary sources: open_clip's `bpe_simple_vocab_16e6.txt.gz`, or the Hugging Face files CLIP hub repos carry
 * (`vocab.json` + `merges.txt`, or `tokenizer.json`); all give the same 49408 ids. Special tokens are open_clip's
 * `<start_of_text>` / `<end_of_text>` (HF spells them `<|startoftext|>` / `<|endoftext|>`, same ids); like open_clip,
 * those literal strings inside a caption become the special ids.
 */
import { DearliError } from '../../core/errors';
import { cleanLower, PY_SPACE } from './textClean';

const SOT = '<start_of_text>';
const EOT = '<end_of_text>';
const HF_NAMES: Record<string, string> = { [SOT]: '<|startoftext|>', [EOT]: '<|endoftext|>' };
/** open_clip reads merges[1 : 49152 - 256 - 2 + 1] of the gz file (line 0 is a header). */
const MERGE_COUNT = 49152 - 256 - 2;
const WORD_END = '</w>';

const PRE_TOKEN = new RegExp(`${SOT}|${EOT}|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${PY_SPACE}\\p{L}\\p{N}]+`, 'giu');

/** GPT-2's reversible byte → printable character map: printable Latin-1 bytes map to themselves, the rest to U+0100+. */
function byteToUnicode(): string[] {
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : next++);
  }
  return table;
}

/** The 256 byte characters in open_clip's vocabulary order: printable ones by byte value, then the remapped ones. */
function byteVocabOrder(byteChars: string[]): string[] {
  return [...byteChars].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
}

function bad(file: string, problem: string): never {
  throw new DearliError(
    'tokenizer-format',
    problem,
    'Use the CLIP vocabulary file (bpe_simple_vocab_16e6.txt.gz) or a CLIP tokenizer.json / vocab.json + merges.txt.',
    file,
  );
}

export class ClipTokenizer {
  readonly sotId: number;
  readonly eotId: number;
  readonly vocabSize: number;
  private readonly encoder: Map<string, number>;
  /** Merge rank keyed by `left + ' ' + right` (symbols never contain a space: it is remapped to U+0120). */
  private readonly ranks: Map<string, number>;
  private readonly byteChars = byteToUnicode();
  private readonly bpeCache = new Map<string, string[]>();
  private readonly utf8 = new TextEncoder();

  private constructor(encoder: Map<string, number>, merges: [string, string][]) {
    this.encoder = encoder;
    this.ranks = new Map();
    merges.forEach(([a, b], rank) => this.ranks.set(`${a} ${b}`, rank));
    this.sotId = encoder.get(SOT)!;
    this.eotId = encoder.get(EOT)!;
    this.vocabSize = encoder.size;
    this.bpeCache.set(SOT, [SOT]);
    this.bpeCache.set(EOT, [EOT]);
  }

  /**
   * From open_clip's gzip'd merges file. Already-inflated text is accepted too: servers that label the .gz with
   * `Content-Encoding: gzip` (Vite's dev server does) get it decompressed by fetch itself.
   */
  static async fromBpeGz(
    bytes: Uint8Array | ArrayBuffer,
    fileName = 'bpe_simple_vocab_16e6.txt.gz',
  ): Promise<ClipTokenizer> {
    const raw = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    let text: string;
    try {
      if (raw[0] === 0x1f && raw[1] === 0x8b) {
        const stream = new Blob([raw as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
        text = await new Response(stream).text();
      } else {
        text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
      }
    } catch (e) {
      bad(fileName, `the file is neither gzip data nor UTF-8 text (${(e as Error).message})`);
    }
    const lines = text.split('\n').slice(1, MERGE_COUNT + 1);
    if (lines.length !== MERGE_COUNT) bad(fileName, `the file has ${lines.length} merges, CLIP needs ${MERGE_COUNT}`);
    const merges = lines.map((line, i) => parseMerge(line, fileName, i + 1));
    const byteChars = byteVocabOrder(byteToUnicode());
    const vocab = [...byteChars, ...byteChars.map((c) => c + WORD_END), ...merges.map(([a, b]) => a + b), SOT, EOT];
    return new ClipTokenizer(new Map(vocab.map((token, id) => [token, id])), merges);
  }

  /** From Hugging Face tokenizer files: `tokenizer.json`, or `vocab.json` + `merges.txt` (texts as read from disk). */
  static fromHfFiles(files: { tokenizerJson: string } | { vocabJson: string; mergesTxt: string }): ClipTokenizer {
    let vocab: Record<string, number>;
    let rawMerges: unknown[];
    const source = 'tokenizerJson' in files ? 'tokenizer.json' : 'vocab.json / merges.txt';
    try {
      if ('tokenizerJson' in files) {
        const json = JSON.parse(files.tokenizerJson) as {
          model?: { vocab?: Record<string, number>; merges?: unknown[] };
          added_tokens?: { id: number; content: string }[];
        };
        vocab = { ...(json.model?.vocab ?? {}) };
        for (const t of json.added_tokens ?? []) vocab[t.content] = t.id;
        rawMerges = json.model?.merges ?? [];
      } else {
        vocab = JSON.parse(files.vocabJson) as Record<string, number>;
        rawMerges = files.mergesTxt.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#version'));
      }
    } catch (e) {
      bad(source, `the file is not valid JSON (${(e as Error).message})`);
    }
    const merges = rawMerges.map((m, i) =>
      Array.isArray(m) ? ([String(m[0]), String(m[1])] as [string, string]) : parseMerge(String(m), source, i),
    );
    const encoder = new Map(Object.entries(vocab));
    for (const special of [SOT, EOT]) {
      const id = encoder.get(special) ?? encoder.get(HF_NAMES[special]);
      if (id === undefined) bad(source, `the vocabulary has no ${HF_NAMES[special]} token`);
      encoder.set(special, id);
    }
    return new ClipTokenizer(encoder, merges);
  }

  /** Token ids of one text, without start/end tokens and without truncation. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [piece] of cleanLower(text).matchAll(PRE_TOKEN)) {
      let mapped = '';
      for (const byte of this.utf8.encode(piece)) mapped += this.byteChars[byte];
      for (const token of this.bpe(mapped)) {
        const id = this.encoder.get(token);
        if (id === undefined)
          throw new DearliError(
            'tokenizer-format',
            `the token "${token}" is not in the vocabulary`,
            'The tokenizer files are incomplete: use a CLIP vocabulary.',
          );
        ids.push(id);
      }
    }
    return ids;
  }

  /** open_clip's `tokenize`: [SOT] + ids + [EOT], cut to `contextLength` with EOT kept last, zero-padded. */
  tokenize(texts: string[], contextLength = 77): Int32Array[] {
    return texts.map((text) => {
      const ids = [this.sotId, ...this.encode(text), this.eotId];
      if (ids.length > contextLength) {
        ids.length = contextLength;
        ids[contextLength - 1] = this.eotId;
      }
      const row = new Int32Array(contextLength);
      row.set(ids);
      return row;
    });
  }

  private bpe(token: string): string[] {
    const cached = this.bpeCache.get(token);
    if (cached) return cached;
    let word = [...token];
    word[word.length - 1] += WORD_END;
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === first && word[i + 1] === second && i < word.length - 1) {
          merged.push(first + second);
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    this.bpeCache.set(token, word);
    return word;
  }
}

function parseMerge(line: string, file: string, lineNo: number): [string, string] {
  const parts = line.trim().split(/\s+/);
  if (parts.length !== 2) bad(file, `merge line ${lineNo} is "${line}", expected two symbols`);
  return [parts[0], parts[1]];
}

/** Position of the first end-of-text id (the highest id): the row CLIP pools its text feature from. */
export function eotIndex(ids: Int32Array): number {
  let best = 0;
  for (let i = 1; i < ids.length; i++) if (ids[i] > ids[best]) best = i;
  return best;
}

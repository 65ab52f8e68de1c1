import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectMatchesReference,
  readFixtureBytes,
  readFixtureJson,
  type TolerancePattern,
} from '../../../test/fixtures';
import { cleanLower } from './textClean';
import { ClipTokenizer } from './tokenizer';

interface TokenizerCase {
  text: string;
  ids: number[];
  cleaned: string;
}

interface TokenizerInfo {
  vocab_file: string;
  sot_id: number;
  eot_id: number;
  pad_id: number;
  vocab_size: number;
  num_cases: number;
  tolerances: { patterns: TolerancePattern[] };
}

const DIR = 'clip-tokenizer';
let info: TokenizerInfo;
let cases: TokenizerCase[];
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  info = await readFixtureJson<TokenizerInfo>(`${DIR}/tokenizer_info.json`);
  cases = await readFixtureJson<TokenizerCase[]>(`${DIR}/tokenizer_cases.json`);
  const vocabName = info.vocab_file.split(' ')[0];
  tokenizer = await ClipTokenizer.fromBpeGz(await readFixtureBytes(`${DIR}/${vocabName}`), vocabName);
});

describe('ClipTokenizer parity with open_clip SimpleTokenizer', () => {
  it('has the reference vocabulary size and special ids', () => {
    expect(cases.length).toBe(info.num_cases);
    expect(tokenizer.vocabSize).toBe(info.vocab_size);
    expect(tokenizer.sotId).toBe(info.sot_id);
    expect(tokenizer.eotId).toBe(info.eot_id);
  });

  it('cleans every case text as open_clip does', () => {
    const wrong = cases
      .filter((c) => cleanLower(c.text) !== c.cleaned)
      .map(
        (c) =>
          `${JSON.stringify(c.text)} → ${JSON.stringify(cleanLower(c.text))}, expected ${JSON.stringify(c.cleaned)}`,
      );
    expect(wrong).toEqual([]);
  });

  it('gives exactly the reference ids for every case', () => {
    const contextLength = cases[0].ids.length;
    const rows = tokenizer.tokenize(
      cases.map((c) => c.text),
      contextLength,
    );
    const failures: string[] = [];
    cases.forEach((c, i) => {
      try {
        expectMatchesReference('ids', rows[i], c.ids, info.tolerances.patterns);
      } catch (e) {
        failures.push(`${JSON.stringify(c.text)}: ${(e as Error).message}`);
      }
      const padStart = c.ids.lastIndexOf(info.eot_id) + 1;
      expect(rows[i].subarray(padStart).every((v) => v === info.pad_id)).toBe(true);
    });
    expect(failures).toEqual([]);
  });
});

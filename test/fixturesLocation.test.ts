/**
 * Where the parity fixtures come from: the copy in test/fixtures/reference by default, $DEARLI_FIXTURES
 * when set. The child runs prove that a parity test really reads the set the variable names.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, readFixtureBytes } from './fixtures';

const repo = path.resolve(__dirname, '..');
const scratch = mkdtempSync(path.join(tmpdir(), 'dearli-fixtures-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface TokenizerCase {
  text: string;
  ids: number[];
}

/** A copy of the tokenizer fixture set, with its case list edited. */
function tokenizerSet(name: string, edit: (cases: TokenizerCase[], info: { num_cases: number }) => void): string {
  const dir = path.join(scratch, name);
  cpSync(path.join(FIXTURES_DIR, 'clip-tokenizer'), path.join(dir, 'clip-tokenizer'), { recursive: true });
  const casesPath = path.join(dir, 'clip-tokenizer/tokenizer_cases.json');
  const infoPath = path.join(dir, 'clip-tokenizer/tokenizer_info.json');
  const cases = JSON.parse(readFileSync(casesPath, 'utf8')) as TokenizerCase[];
  const info = JSON.parse(readFileSync(infoPath, 'utf8')) as { num_cases: number };
  edit(cases, info);
  writeFileSync(casesPath, JSON.stringify(cases));
  writeFileSync(infoPath, JSON.stringify(info));
  return dir;
}

function runTokenizerParity(fixtures: string): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, DEARLI_FIXTURES: fixtures };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'TEST') delete env[key];
  const r = spawnSync('npx', ['vitest', 'run', '--project', 'node', 'src/models/clip/tokenizer.parity.test.ts'], {
    cwd: repo,
    env,
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('fixture location', () => {
  it('is $DEARLI_FIXTURES when set, else the copy the repository carries', () => {
    const expected = path.resolve(process.env.DEARLI_FIXTURES ?? path.join(repo, 'test/fixtures/reference'));
    expect(FIXTURES_DIR).toBe(expected);
  });

  it('fails a missing input with its path and the variable that sets it', async () => {
    await expect(readFixtureBytes('no-such-set/config.json')).rejects.toThrow(
      new RegExp(
        `${path.join(FIXTURES_DIR, 'no-such-set/config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*DEARLI_FIXTURES`,
      ),
    );
  });

  it('feeds a parity test the set $DEARLI_FIXTURES names', () => {
    const shorter = tokenizerSet('shorter', (cases, info) => {
      cases.splice(1);
      info.num_cases = 1;
    });
    const passing = runTokenizerParity(shorter);
    expect(passing.output).toMatch(/passed/);
    expect(passing.status).toBe(0);

    const tampered = tokenizerSet('tampered', (cases) => {
      cases[0].ids[1] += 1;
    });
    const failing = runTokenizerParity(tampered);
    expect(failing.status).not.toBe(0);
    expect(failing.output).toMatch(/failed/);
  }, 120_000);
});

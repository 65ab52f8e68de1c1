import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const golden = path.resolve(import.meta.dirname, '../test/golden/eval/mixed');
const tsx = path.resolve(import.meta.dirname, '../node_modules/.bin/tsx');
const script = path.resolve(import.meta.dirname, 'eval.ts');

/** The CLI arguments over the golden case, with any path replaced. */
function evalArgs(paths: Partial<Record<'gtJson' | 'gtDir' | 'predJson' | 'predDir', string>> = {}): string[] {
  return [
    '--gt-json',
    paths.gtJson ?? `${golden}/gt.json`,
    '--gt-dir',
    paths.gtDir ?? `${golden}/gt`,
    '--pred-json',
    paths.predJson ?? `${golden}/pred.json`,
    '--pred-dir',
    paths.predDir ?? `${golden}/pred`,
  ];
}

/** The CLI's exit code and stderr when it fails; undefined when it succeeds. */
const failureOf = (args: string[]) =>
  run(tsx, [script, ...args]).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );

describe('npm run eval', () => {
  it('prints the table and writes panopticapi’s JSON layout', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'eval-')), 'pq.json');
    const args = [...evalArgs(), '--out', out];
    const { stdout } = await run(tsx, [script, ...args]);
    expect(stdout).toMatch(/^All\s+\|\s+48\.3\s+73\.3\s+63\.3\s+6$/m);
    expect(stdout).toMatch(/^mIoU \d+\.\d over \d+ categories, 4 images$/m);
    const written = JSON.parse(readFileSync(out, 'utf8'));
    const expected = JSON.parse(readFileSync(`${golden}/expected.json`, 'utf8'));
    expect(Object.keys(written).sort()).toEqual(['All', 'Stuff', 'Things', 'per_class']);
    expect(Object.keys(written.per_class).sort()).toEqual(Object.keys(expected.per_class).sort());
    expect(written.All.pq).toBeCloseTo(expected.All.pq, 9);
  });

  it('exits 1 with the file named when a prediction PNG is missing', async () => {
    const failure = await failureOf(evalArgs({ predDir: `${golden}/nowhere` }));
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(`${golden}/nowhere/img_000.png`);
  });

  it('exits 1 without a stack trace when a path is a directory (EISDIR)', async () => {
    const failure = await failureOf(evalArgs({ gtJson: `${golden}/gt` }));
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim()).toBe(
      `error: ${golden}/gt: this path is a directory, not a file — Give the path of the file inside it.`,
    );
  });
});

/**
 * The layer check that `npm test` runs (`npm run lint:layers`, README: Design) refuses an upward import
 * and accepts a downward one. It runs dependency-cruiser with the project's own rules on a scratch tree.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = path.resolve(__dirname, '..');
const scratch = mkdtempSync(path.join(tmpdir(), 'dearli-layers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const root = path.join(scratch, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  copyFileSync(path.join(repo, '.dependency-cruiser.cjs'), path.join(root, '.dependency-cruiser.cjs'));
  writeFileSync(
    path.join(root, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'bundler' } }),
  );
  return root;
}

function cruise(root: string): { status: number | null; output: string } {
  const bin = path.join(repo, 'node_modules/.bin/depcruise');
  const r = spawnSync(bin, ['src', 'workers', '--config', '.dependency-cruiser.cjs'], { cwd: root, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('layer check', () => {
  it('fails an upward import (src/core importing from workers/)', () => {
    const root = tree('upward', {
      'src/core/rng.ts': "import { session } from '../../workers/api';\nexport const seed = session;\n",
      'workers/api.ts': 'export const session = 1;\n',
    });
    const r = cruise(root);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('src-core-imports-upward');
    expect(r.output).toContain('src/core/rng.ts → workers/api.ts');
  }, 60_000);

  it('passes a downward import (workers/ importing from src/core)', () => {
    const root = tree('downward', {
      'src/core/rng.ts': 'export const seed = 1;\n',
      'workers/api.ts': "import { seed } from '../src/core/rng';\nexport const session = seed;\n",
    });
    const r = cruise(root);
    expect(r.output).toContain('no dependency violations');
    expect(r.status).toBe(0);
  }, 60_000);
});

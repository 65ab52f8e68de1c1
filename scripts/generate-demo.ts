/**
 * Writes the demo world to disk as a COCO panoptic folder, the same files the app imports on first
 * run (for users who want the files, and for e2e test data):
 *
 *   npm run demo:generate -- --out DIR [--seed 1] [--size 256 | --width W --height H]
 *                            [--labeled 8] [--unlabeled 48] [--validation 16]
 *
 * Images are generated and written one at a time, so large counts need little memory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_DEFAULTS, DEMO_SPLITS, demoSplitEntries, iterateDemoSplit, type DemoOptions } from '../src/data/demo';

const USAGE =
  'usage: npm run demo:generate -- --out DIR [--seed N] [--size N | --width N --height N] [--labeled N] [--unlabeled N] [--validation N]';

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}\n${USAGE}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string' },
      size: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      labeled: { type: 'string' },
      unlabeled: { type: 'string' },
      validation: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.out) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const size = positiveInteger('size', values.size, DEMO_DEFAULTS.width);
  const options: Required<DemoOptions> = {
    seed: positiveInteger('seed', values.seed, DEMO_DEFAULTS.seed),
    width: positiveInteger('width', values.width, size),
    height: positiveInteger('height', values.height, size),
    labeled: positiveInteger('labeled', values.labeled, DEMO_DEFAULTS.labeled),
    unlabeled: positiveInteger('unlabeled', values.unlabeled, DEMO_DEFAULTS.unlabeled),
    validation: positiveInteger('validation', values.validation, DEMO_DEFAULTS.validation),
  };
  if (options.width < 16 || options.height < 16) throw new Error(`images must be at least 16×16 px\n${USAGE}`);
  const out = path.resolve(values.out);
  let files = 0;
  let bytes = 0;
  for (const split of DEMO_SPLITS) {
    for (const entry of demoSplitEntries(split, iterateDemoSplit(options, split))) {
      const target = path.join(out, entry.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, entry.bytes);
      files++;
      bytes += entry.bytes.length;
    }
    console.log(`${split}: ${options[split]} images`);
  }
  console.log(
    `wrote ${files} files (${(bytes / 1e6).toFixed(1)} MB) to ${out} (seed ${options.seed}, ${options.width}×${options.height})`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});

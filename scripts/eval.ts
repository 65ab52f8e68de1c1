// `npm run eval -- --gt-json F --gt-dir D --pred-json F --pred-dir D [--out F.json] [--out-miou F.json]`
// Panoptic quality of a COCO panoptic prediction folder, with panopticapi's semantics and JSON layout.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DearliError } from '../src/core/errors';
import { LIMITS, limitError } from '../src/core/limits';
import { evaluatePanopticFolders, type PanopticFolder } from '../src/core/panopticFiles';
import type { PanopticEvaluation } from '../src/core/pq';
import { decodeRgbPanopticPng, rgbPanopticPngRowReader } from './panopticPng';

const USAGE =
  'usage: npm run eval -- --gt-json F --gt-dir D --pred-json F --pred-dir D [--out F.json] [--out-miou F.json]';

/** A file's bytes, or a DearliError naming it when it is missing, a directory, unreadable or over `maxBytes`. */
function readInputFile(file: string, maxBytes?: number): Buffer {
  try {
    const stat = statSync(file);
    if (stat.isDirectory())
      throw new DearliError(
        'not-a-file',
        'this path is a directory, not a file',
        'Give the path of the file inside it.',
        file,
      );
    if (maxBytes !== undefined && stat.size > maxBytes)
      throw limitError('json-too-large', `the JSON file has ${stat.size} bytes`, 'jsonBytes', file);
    return readFileSync(file);
  } catch (e) {
    if (e instanceof DearliError) throw e;
    throw new DearliError(
      'unreadable-file',
      `the file cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'Check the path and its permissions.',
      file,
    );
  }
}

export function nodeFolder(jsonFile: string, pngDir: string): PanopticFolder {
  return {
    jsonFile,
    jsonText: readInputFile(jsonFile, LIMITS.jsonBytes).toString('utf8'),
    pngPath: (fileName) => path.join(pngDir, fileName),
    readPng: (file) => readInputFile(file),
  };
}

/** The table panopticapi prints, in percent, plus mIoU. */
export function formatEvaluation(result: PanopticEvaluation): string {
  const lines = [
    `${''.padEnd(10)}| ${'PQ'.padStart(5)}  ${'SQ'.padStart(5)}  ${'RQ'.padStart(5)} ${'N'.padStart(5)}`,
    '-'.repeat(38),
  ];
  for (const name of ['All', 'Things', 'Stuff'] as const) {
    const r = result.pq[name];
    const pct = (x: number) => (100 * x).toFixed(1).padStart(5);
    lines.push(`${name.padEnd(10)}| ${pct(r.pq)}  ${pct(r.sq)}  ${pct(r.rq)} ${String(r.n).padStart(5)}`);
  }
  lines.push(
    '',
    `mIoU ${(100 * result.miou.miou).toFixed(1)} over ${result.miou.n} categories, ${result.images} images`,
  );
  if (result.gtAreaMismatches > 0) {
    lines.push(
      `warning: ${result.gtAreaMismatches} ground-truth segments have a JSON "area" other than their pixel count; ` +
        'we use pixel counts, panopticapi uses the JSON area, so its numbers would differ',
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        'gt-json': { type: 'string' },
        'gt-dir': { type: 'string' },
        'pred-json': { type: 'string' },
        'pred-dir': { type: 'string' },
        out: { type: 'string' },
        'out-miou': { type: 'string' },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { 'gt-json': gtJson, 'gt-dir': gtDir, 'pred-json': predJson, 'pred-dir': predDir } = args;
  if (!gtJson || !gtDir || !predJson || !predDir) {
    console.error(USAGE);
    return 2;
  }
  try {
    const start = performance.now();
    const result = await evaluatePanopticFolders(
      nodeFolder(gtJson, gtDir),
      nodeFolder(predJson, predDir),
      decodeRgbPanopticPng,
      { gt: rgbPanopticPngRowReader(), pred: rgbPanopticPngRowReader() },
    );
    console.log(formatEvaluation(result));
    console.log(`time ${((performance.now() - start) / 1000).toFixed(2)} s`);
    if (args.out) {
      writeFileSync(args.out, `${JSON.stringify(result.pq, null, 2)}\n`);
      console.log(`wrote ${args.out}`);
    }
    if (args['out-miou']) {
      writeFileSync(args['out-miou'], `${JSON.stringify(result.miou, null, 2)}\n`);
      console.log(`wrote ${args['out-miou']}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof DearliError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();

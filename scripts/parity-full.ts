/**
 * `npm run parity:full [-- CASE ...]`: full-size numerical parity of the tfjs ports (tfjs cpu, Node)
 * against onnxruntime-node on the onnx-bench graphs, with seeded realistic random weights (see
 * scripts/fullSizeParity.ts). Prints max abs / max rel error per output, writes
 * bench-results/parity-full.json and exits 1 when an output's max|ours − ort| / max|ort| exceeds 1e-3.
 * CASE: clip320, slimsam, decoder, samVitB, clip640, or `all`; default clip320 slimsam decoder samVitB.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { PARITY_CASES, runFullSizeParity, type ParityCase } from './fullSizeParity';

const DEFAULT_CASES: ParityCase[] = ['clip320', 'slimsam', 'decoder', 'samVitB'];
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== 'all' && !(PARITY_CASES as readonly string[]).includes(a));
if (unknown.length > 0) {
  console.error(`unknown case(s) ${unknown.join(', ')}; choose from ${PARITY_CASES.join(', ')} or all`);
  process.exit(2);
}
const cases: ParityCase[] =
  args.length === 0 ? DEFAULT_CASES : args.includes('all') ? [...PARITY_CASES] : (args as ParityCase[]);

await tf.setBackend('cpu');
await tf.ready();
const start = performance.now();
console.log(
  `parity:full on tfjs ${tf.getBackend()} vs onnxruntime-node (CPU EP), cases: ${cases.join(', ')}; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')} on ${cpus().length} cores`,
);
const report = await runFullSizeParity(cases, { log: (line) => console.log(line) });
const totalMs = performance.now() - start;

console.log('\n| case | output | shape | max abs error | max abs (ORT) | max rel error | pass |');
console.log('|---|---|---|---|---|---|---|');
for (const o of report.outputs) {
  console.log(
    `| ${o.case} | ${o.output} | ${o.shape.join('×')} | ${o.maxAbsError.toExponential(2)} | ${o.maxAbsReference.toFixed(3)} | ${o.relError.toExponential(2)} | ${o.pass ? 'yes' : 'NO'} |`,
  );
}
console.log('\n| case | ORT-node ms | tfjs cpu ms |');
console.log('|---|---|---|');
for (const t of report.timings) console.log(`| ${t.case} | ${t.ortMs.toFixed(0)} | ${t.tfjsMs.toFixed(0)} |`);
console.log(
  `\nweights loaded in ${Object.entries(report.loadMs)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
    .join(', ')}; total ${(totalMs / 1000).toFixed(0)} s`,
);

mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/parity-full.json',
  `${JSON.stringify({ date: new Date().toISOString(), cases, totalMs, loadAverage: loadavg(), cpus: cpus().length, ...report }, null, 2)}\n`,
);
console.log('wrote bench-results/parity-full.json');
const failed = report.outputs.filter((o) => !o.pass);
if (failed.length > 0) {
  console.error(
    `${failed.length} output(s) above max rel error ${report.maxRelError}: ${failed.map((o) => `${o.case} ${o.output}`).join(', ')}`,
  );
  process.exit(1);
}

// `npm run bench:gpu [-- --quick]`: the benchmarks a contributor with a real GPU runs and sends back,
// in one go within 8 minutes: CLIP (ConvNeXt-B at 320 and 640 px), SAM (ViT-B and SlimSAM at 1024 px),
// decoder training (laptop and paper presets at their own crops, batch 2 and 8) and two kernel profiles,
// ours beside onnxruntime-web where a graph exists. Each part is one scripts/bench.mjs run with its own
// time limit (a part past it keeps what it measured, the running cell as "> N s"); the parts' rows
// are printed as one table and written, with every part's full report, to bench-results/gpu.json.
// Without --quick it sets DEARLI_REAL_GPU=1 (Chromium on the GPU). --quick runs tiny sizes on
// whatever Chromium gets (SwiftShader here), to show the script works end to end.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable } from './benchReport.mjs';

const quick = process.argv.includes('--quick');
const unknown = process.argv.slice(2).filter((a) => a !== '--quick');
if (unknown.length) {
  console.error(`usage: npm run bench:gpu [-- --quick]   (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = quick ? 'gpu-quick' : 'gpu';

/** [label, bench, query, seconds allowed]; the full run's limits add up to 8 minutes with start-ups. */
const PARTS = quick
  ? [
      // no warm-up runs: on SwiftShader shader compilation is most of a tiny run
      ['clip', 'clip', 'sizes=32&warmup=0&unfused=0', 240],
      ['sam', 'sam', 'models=slimsam-77&size=64&batch=4&side=2&warmup=0&limit=120&attention=fused', 240],
      ['train', 'train', 'presets=tiny&batches=2&iters=1&crop=64', 240],
      ['profile sam-decoder', 'profile', 'part=sam-decoder&size=64&batch=4&top=5', 180],
      ['profile train', 'profile', 'part=train&preset=tiny&size=64&batch=2&top=5', 180],
    ]
  : [
      ['clip', 'clip', 'sizes=320,640&ort=1&repeats=3&unfused=0', 80],
      ['sam', 'sam', 'models=sam-vit-b,slimsam-77&size=1024&ort=1&side=16&repeats=3&limit=30&attention=fused', 130],
      ['train', 'train', 'presets=laptop,paper&batches=2,8&iters=3&crop=preset', 130],
      ['profile sam-encoder', 'profile', 'part=sam-encoder&model=sam-vit-b&size=1024&top=10', 45],
      ['profile train', 'profile', 'part=train&preset=laptop&size=512&batch=2&top=10', 45],
    ];

const env = { ...process.env };
if (!quick && !env.DEARLI_REAL_GPU) env.DEARLI_REAL_GPU = '1';
const loadStart = loadavg();
const started = Date.now();
const rows = [];
const parts = {};
for (const [label, bench, query, seconds] of PARTS) {
  const suffix = `${out}-${label.replace(/\W+/g, '-')}`;
  console.log(`\n=== ${label}: npm run bench:${bench} -- '${query}' (at most ${seconds} s)`);
  const partStart = Date.now();
  const child = spawnSync(process.execPath, [resolve(repoRoot, 'scripts/bench.mjs'), bench, `${query}&out=${suffix}`], {
    cwd: repoRoot,
    env: { ...env, BENCH_TIMEOUT_S: String(seconds) },
    stdio: 'inherit',
    // bench.mjs stops the page at BENCH_TIMEOUT_S; this bounds its own start and saving too.
    timeout: (seconds + 60) * 1000,
  });
  const file = resolve(repoRoot, `bench-results/${bench}.${suffix}.json`);
  const report = existsSync(file) && statFresh(file, partStart) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  parts[label] = { bench, query, seconds, exitCode: child.status, wallS: (Date.now() - partStart) / 1000, report };
  if (!report) {
    rows.push([label, `no result (exit ${child.status ?? child.signal})`, '', '', '', '']);
    continue;
  }
  for (const r of summaryRows(bench, report)) rows.push([label, ...r]);
}

const summary = {
  title: `bench:gpu${quick ? ' --quick (tiny sizes)' : ''}: ours (tfjs-webgpu) beside onnxruntime-web`,
  columns: ['part', 'measure', 'ours', 'ORT', 'ORT/ours', 'more'],
  rows,
  notes: [
    'ms unless stated; ORT/ours = ORT ms / ours ms, above 1 ours is faster; a "> N s" cell ran past its limit',
    "each part's full table and figures are in bench-results/gpu.json under parts",
  ],
};
printTable(summary);
const loadEnd = loadavg();
console.log(
  `total ${((Date.now() - started) / 1000).toFixed(0)} s; load average start ${loadStart[0].toFixed(2)}, end ${loadEnd[0].toFixed(2)} (${cpus().length} cores)`,
);
mkdirSync(resolve(repoRoot, 'bench-results'), { recursive: true });
const jsonFile = resolve(repoRoot, `bench-results/${out}.json`);
writeFileSync(
  jsonFile,
  JSON.stringify(
    {
      name: out,
      date: new Date().toISOString(),
      quick,
      totalS: (Date.now() - started) / 1000,
      load: { start: loadStart, end: loadEnd, cores: cpus().length },
      ...summary,
      parts,
    },
    null,
    2,
  ),
);
console.log(`wrote ${jsonFile}`);

function statFresh(file, since) {
  return JSON.parse(readFileSync(file, 'utf8')).date >= new Date(since).toISOString();
}

/** A part's rows as [measure, ours, ORT, ORT/ours, more]. */
function summaryRows(bench, { columns, rows: partRows }) {
  const at = (r, name) => r[columns.indexOf(name)] ?? '';
  switch (bench) {
    case 'clip':
      return partRows.map((r) => [
        `${at(r, 'path')} ${at(r, 'size px')} px ms/img`,
        at(r, 'ours ms/img'),
        at(r, 'ORT ms/img'),
        at(r, 'ORT/ours'),
        withUnit('', at(r, 'ours GFLOP/s'), 'GFLOP/s'),
      ]);
    case 'sam':
      return partRows.map((r) => [
        `${at(r, 'model')} ${at(r, 'img_size')} ${at(r, 'measure')}`,
        at(r, 'ours'),
        at(r, 'ORT'),
        at(r, 'ORT/ours'),
        withUnit('GPU', at(r, 'ours GPU MiB'), 'MiB'),
      ]);
    case 'train':
      return partRows.map((r) => [
        `${at(r, 'preset')} ${at(r, 'iteration')} batch ${at(r, 'batch')} ms/iteration`,
        at(r, 'total ms/it'),
        '',
        '',
        withUnit('GPU pool', at(r, 'GPU pool MB'), 'MB'),
      ]);
    default:
      return partRows.slice(0, 5).map((r) => [`kernel ${r[0]}`, r[1], '', '', `${r[2]} calls, ${fmt(r[3])}%`]);
  }
}

/** "GPU 58.7 MiB", or '' where the part has no figure. */
function withUnit(label, x, unit) {
  return typeof x === 'number' ? `${label ? `${label} ` : ''}${fmt(x)} ${unit}` : '';
}

function fmt(x) {
  return typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : String(x);
}

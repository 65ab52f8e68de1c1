// `npm run bench:NAME`: serves bench/ with Vite, runs bench/NAME.bench.ts in Chromium on WebGPU,
// prints the table and writes bench-results/NAME.json (NAME.SUFFIX.json with `out=SUFFIX` in the query).
// Set DEARLI_REAL_GPU=1 on a machine with a GPU; BENCH_TIMEOUT_S (default 1800) bounds one run.
// The onnx-bench graphs ($DEARLI_ONNX_BENCH, default test/fixtures/onnx-bench) are served at /onnx-bench/
// for the onnxruntime-web rows (bench/ort.ts).
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, findChromium } from './chromium.mjs';

const name = process.argv[2];
if (!name) {
  console.error('usage: node scripts/bench.mjs NAME   (runs bench/NAME.bench.ts in Chromium)');
  process.exit(2);
}
const executablePath = findChromium();
if (!executablePath) {
  console.error('Chromium not found: install Debian\'s chromium or set CHROMIUM_PATH.');
  process.exit(1);
}

const query = process.argv[3] ?? '';
const outSuffix = new URLSearchParams(query).get('out');
if (outSuffix !== null && !/^[\w.-]+$/.test(outSuffix)) {
  console.error(`out=${outSuffix}: use letters, digits, '.', '_' or '-'`);
  process.exit(2);
}
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const onnxBenchDir = resolve(repoRoot, process.env.DEARLI_ONNX_BENCH ?? 'test/fixtures/onnx-bench');

/** GET /onnx-bench/NAME.(onnx|json) → the file in onnxBenchDir (flat names only). */
const onnxBenchPlugin = {
  name: 'dearli-onnx-bench-files',
  configureServer(server) {
    server.middlewares.use('/onnx-bench', (req, res, next) => {
      const file = decodeURIComponent((req.url ?? '').split('?')[0]).replace(/^\/+/, '');
      if (!/^[\w.-]+\.(onnx|json)$/.test(file)) return next();
      const path = join(onnxBenchDir, file);
      if (!existsSync(path)) {
        res.statusCode = 404;
        res.end(`${path} not found (set DEARLI_ONNX_BENCH to the onnx-bench folder)`);
        return;
      }
      res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      createReadStream(path).pipe(res);
    });
  },
};

// No HMR: an edited source file must not reload the page in the middle of a run.
// onnxruntime-web is not pre-bundled: a dependency discovered mid-run would make Vite reload the page,
// and the package's own ESM build finds its wasm next to itself.
const server = await createServer({
  logLevel: 'warn',
  server: { port: 0, host: '127.0.0.1', hmr: false },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  plugins: [onnxBenchPlugin],
});
await server.listen();
const url = server.resolvedUrls.local[0];
const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
let exitCode = 0;
try {
  const page = await browser.newPage();
  let printed = 0;
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[page] ${m.text()}`);
  });
  page.on('crash', () => console.error('[page] crashed'));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) console.error(`[page] ${r.status()} ${r.url()}`);
  });
  const loadStart = loadavg();
  const loadSamples = [];
  const sampler = setInterval(() => loadSamples.push(loadavg()[0]), 30_000);
  console.log(`load average at start: ${loadStart.map((x) => x.toFixed(2)).join(', ')}`);
  await page.goto(`${url}bench/index.html?suite=${encodeURIComponent(name)}${query ? `&${query}` : ''}`);
  const startedAt = Date.now();
  const deadline = Date.now() + Number(process.env.BENCH_TIMEOUT_S ?? 1800) * 1000;
  let done;
  while (!(done = await page.evaluate(() => window.__benchDone))) {
    const lines = await page.evaluate(() => window.__benchLog ?? []);
    for (; printed < lines.length; printed++) console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0)} s] ${lines[printed]}`);
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await new Promise((r) => setTimeout(r, 500));
  }
  const lines = await page.evaluate(() => window.__benchLog ?? []);
  for (; printed < lines.length; printed++) console.log(lines[printed]);
  if (done.error) throw new Error(done.error);
  clearInterval(sampler);
  const loadEnd = loadavg();
  const meanLoad1 = loadSamples.length ? loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length : loadEnd[0];
  const load = { start: loadStart, end: loadEnd, mean1min: meanLoad1, samples1min: loadSamples, cores: cpus().length };
  const report = done.report;
  printTable(report);
  console.log(`load average: start ${loadStart[0].toFixed(2)}, end ${loadEnd[0].toFixed(2)}, mean of the 1-min average sampled every 30 s ${meanLoad1.toFixed(2)} (${load.cores} cores)`);
  mkdirSync('bench-results', { recursive: true });
  const out = `bench-results/${name}${outSuffix ? `.${outSuffix}` : ''}.json`;
  writeFileSync(out, JSON.stringify({ name, date: new Date().toISOString(), query, load, ...report }, null, 2));
  console.log(`\nwrote ${out}`);
} catch (e) {
  console.error(`benchmark ${name} failed: ${e.message}`);
  exitCode = 1;
} finally {
  await browser.close();
  await server.close();
}
process.exit(exitCode);

function printTable({ title, columns, rows, notes }) {
  const cells = [columns, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => String(c ?? '').padStart(widths[i])).join('  ');
  console.log(`\n${title}\n${line(columns)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of cells.slice(1)) console.log(line(r));
  for (const n of notes ?? []) console.log(`note: ${n}`);
}

function formatNumber(x) {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

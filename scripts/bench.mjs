// `npm run bench:NAME`: serves bench/ with Vite, runs bench/NAME.bench.ts in Chromium on WebGPU,
// prints the table and writes bench-results/NAME.json (NAME.SUFFIX.json with `out=SUFFIX` in the query).
// Set DEARLI_REAL_GPU=1 on a machine with a GPU; BENCH_TIMEOUT_S (default 1800) bounds one run. A run that
// passes it, crashes or fails still prints and writes what it measured, the running cell as "> N s".
// The onnx-bench graphs ($DEARLI_ONNX_BENCH, default test/fixtures/onnx-bench) are served at /onnx-bench/
// for the onnxruntime-web rows (bench/ort.ts).
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, findChromium } from './chromium.mjs';
import { closePartialReport, printTable } from './benchReport.mjs';
import { exposeWorkerHeap } from './benchWorkerHeap.mjs';

/** A run that ended before the page's report: what it had measured is still saved. */
class IncompleteRun extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail;
  }
}

const name = process.argv[2];
if (!name) {
  console.error('usage: node scripts/bench.mjs NAME   (runs bench/NAME.bench.ts in Chromium)');
  process.exit(2);
}
const executablePath = findChromium();
if (!executablePath) {
  console.error("Chromium not found: install Debian's chromium or set CHROMIUM_PATH.");
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
const loadStart = loadavg();
const loadSamples = [];
const sampler = setInterval(() => loadSamples.push(loadavg()[0]), 30_000);
// The latest copy of the page's table so far (bench/liveReport.ts): what is saved when the run
// passes its time limit, the page crashes or stops answering.
let partial = null;
let crashed = false;
const page = await browser.newPage();
try {
  // bench:import reports the lab worker's heap (scripts/benchWorkerHeap.mjs).
  if (name === 'import') await exposeWorkerHeap(page);
  let printed = 0;
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[page] ${m.text()}`);
  });
  page.on('crash', () => {
    crashed = true;
    console.error('[page] crashed');
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) console.error(`[page] ${r.status()} ${r.url()}`);
  });
  console.log(`load average at start: ${loadStart.map((x) => x.toFixed(2)).join(', ')}`);
  await page.goto(`${url}bench/index.html?suite=${encodeURIComponent(name)}${query ? `&${query}` : ''}`);
  const startedAt = Date.now();
  const timeoutS = Number(process.env.BENCH_TIMEOUT_S ?? 1800);
  const deadline = Date.now() + timeoutS * 1000;
  let done;
  for (;;) {
    // A page busy in a long synchronous task does not answer: wait for it at most until the deadline.
    const state = await Promise.race([
      page.evaluate(() => ({
        done: window.__benchDone,
        lines: window.__benchLog ?? [],
        partial: window.__benchPartial ?? null,
      })),
      new Promise((r) => setTimeout(() => r(null), Math.max(1000, deadline - Date.now()))),
    ]).catch((e) => {
      if (crashed) return null;
      throw e;
    });
    if (state) {
      for (; printed < state.lines.length; printed++)
        console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0)} s] ${state.lines[printed]}`);
      if (state.partial) partial = state.partial;
      if ((done = state.done)) break;
    }
    if (crashed) throw new IncompleteRun('the page crashed');
    if (Date.now() > deadline) throw new IncompleteRun(`the run passed BENCH_TIMEOUT_S=${timeoutS} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  if (done.error) throw new IncompleteRun(`the page failed: ${done.error.split('\n')[0]}`, done.error);
  save(done.report);
} catch (e) {
  console.error(`benchmark ${name} failed: ${e.message}${e.detail ? `\n${e.detail}` : ''}`);
  if (e instanceof IncompleteRun && partial) save(closePartialReport(partial, Date.now(), e.message));
  exitCode = 1;
} finally {
  clearInterval(sampler);
  // close() waits for a page that no longer answers; the deadline is past, so do not wait long.
  await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000))]);
  await server.close();
}
process.exit(exitCode);

/** Prints the table and the load average and writes bench-results/NAME[.SUFFIX].json. */
function save(report) {
  const loadEnd = loadavg();
  const meanLoad1 = loadSamples.length ? loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length : loadEnd[0];
  const load = { start: loadStart, end: loadEnd, mean1min: meanLoad1, samples1min: loadSamples, cores: cpus().length };
  printTable(report);
  console.log(
    `load average: start ${loadStart[0].toFixed(2)}, end ${loadEnd[0].toFixed(2)}, mean of the 1-min average sampled every 30 s ${meanLoad1.toFixed(2)} (${load.cores} cores)`,
  );
  mkdirSync('bench-results', { recursive: true });
  const out = `bench-results/${name}${outSuffix ? `.${outSuffix}` : ''}.json`;
  writeFileSync(out, JSON.stringify({ name, date: new Date().toISOString(), query, load, ...report }, null, 2));
  console.log(`\nwrote ${out}`);
}

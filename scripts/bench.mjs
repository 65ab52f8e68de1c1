// `npm run bench:NAME`: serves bench/ with Vite, runs bench/NAME.bench.ts in Chromium on WebGPU,
// prints the table and writes bench-results/NAME.json. Set DEARLI_REAL_GPU=1 on a machine with a GPU.
import { mkdirSync, writeFileSync } from 'node:fs';
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

// No HMR: an edited source file must not reload the page in the middle of a run.
const server = await createServer({ logLevel: 'warn', server: { port: 0, host: '127.0.0.1', hmr: false } });
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
  await page.goto(`${url}bench/index.html?suite=${encodeURIComponent(name)}${process.argv[3] ? `&${process.argv[3]}` : ''}`);
  const deadline = Date.now() + Number(process.env.BENCH_TIMEOUT_S ?? 1800) * 1000;
  let done;
  while (!(done = await page.evaluate(() => window.__benchDone))) {
    const lines = await page.evaluate(() => window.__benchLog ?? []);
    for (; printed < lines.length; printed++) console.log(lines[printed]);
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await new Promise((r) => setTimeout(r, 500));
  }
  const lines = await page.evaluate(() => window.__benchLog ?? []);
  for (; printed < lines.length; printed++) console.log(lines[printed]);
  if (done.error) throw new Error(done.error);
  const report = done.report;
  printTable(report);
  mkdirSync('bench-results', { recursive: true });
  const out = `bench-results/${name}.json`;
  writeFileSync(out, JSON.stringify({ name, date: new Date().toISOString(), ...report }, null, 2));
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

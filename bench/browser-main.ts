// Runs one browser benchmark (?suite=NAME → bench/NAME.bench.ts) and hands its report to scripts/bench.mjs.
import type { BenchReport, BrowserBenchmark } from './types';

declare global {
  interface Window {
    __benchDone?: { report?: BenchReport; error?: string };
    __benchLog?: string[];
  }
}

const suites = import.meta.glob<{ runBenchmark: BrowserBenchmark }>('./*.bench.ts');
const logEl = document.getElementById('log')!;
window.__benchLog = [];
const log = (line: string) => {
  window.__benchLog!.push(line);
  logEl.textContent += `${line}\n`;
};

const suite = new URLSearchParams(location.search).get('suite');
const load = suites[`./${suite}.bench.ts`];
if (!load) {
  window.__benchDone = { error: `no benchmark named ${suite} (known: ${Object.keys(suites).join(', ')})` };
} else {
  load()
    .then((m) => m.runBenchmark(log))
    .then((report) => (window.__benchDone = { report }))
    .catch((e: Error) => (window.__benchDone = { error: `${e.message}\n${e.stack ?? ''}` }));
}

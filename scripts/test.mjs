// `npm test`: every test, on a fresh machine, without manual steps.
// 1. makes sure Debian's Chromium is there (installs it with apt-get when running as root),
// 2. type-checks and lints (code, layers, format, unused exports), 3. runs the Vitest projects (Node, then Chromium on WebGPU), 4. runs the Playwright e2e suite.
import { spawnSync } from 'node:child_process';
import { findChromium } from './chromium.mjs';

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

function ensureChromium() {
  let path = findChromium();
  if (path) return path;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    console.error(
      'Chromium was not found and cannot be installed automatically.\n' +
        "Install Debian's chromium package (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary, then run npm test again.",
    );
    process.exit(1);
  }
  console.log("Chromium not found: installing Debian's chromium package (apt-get)...");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (
    run('apt-get', ['update', '-qq'], { env }) !== 0 ||
    run('apt-get', ['install', '-y', '-qq', 'chromium'], { env }) !== 0
  ) {
    console.error('apt-get could not install chromium; install it by hand or set CHROMIUM_PATH.');
    process.exit(1);
  }
  path = findChromium();
  if (!path) {
    console.error('chromium was installed but no binary was found at the usual paths; set CHROMIUM_PATH.');
    process.exit(1);
  }
  return path;
}

const chromium = ensureChromium();
console.log(`Using Chromium at ${chromium}`);
const env = { ...process.env, CHROMIUM_PATH: chromium };
const steps = [
  ['npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']],
  // lint, the layer table (an upward import fails here), formatting and unused exports
  ['npm', ['run', '-s', 'lint']],
  ['npx', ['vitest', 'run', '--project', 'node']],
  ['npx', ['vitest', 'run', '--project', 'chromium']],
  ['npx', ['playwright', 'test']],
];
const failed = [];
for (const [cmd, args] of steps) {
  if (run(cmd, args, { env }) !== 0) failed.push(`${cmd} ${args.join(' ')}`);
}
if (failed.length) {
  console.error(`\nnpm test: ${failed.length} step(s) failed:\n  ${failed.join('\n  ')}`);
  process.exit(1);
}
console.log('\nnpm test: all steps passed');

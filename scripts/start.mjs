// `npm start`: builds the lab and serves it on http://127.0.0.1:4173 (offline; the demo dataset is generated in the browser).
import { spawnSync, spawn } from 'node:child_process';

const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const port = process.env.PORT ?? '4173';
console.log(`\nDEARLi Lab: open http://127.0.0.1:${port} in Chrome (WebGPU). Ctrl+C stops the server.\n`);
const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', port, '--strictPort'], {
  stdio: 'inherit',
});
server.on('exit', (code) => process.exit(code ?? 0));

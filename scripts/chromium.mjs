// Finds Debian's Chromium for Playwright and Vitest browser mode; the one place that knows its flags.
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

export function findChromium() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** WebGPU on SwiftShader (CPU Vulkan) works headless without a GPU; on a machine with a GPU drop the swiftshader pair. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  ...(process.env.DEARLI_REAL_GPU ? [] : ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader']),
  '--disable-vulkan-surface',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

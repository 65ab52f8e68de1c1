import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { CHROMIUM_ARGS, findChromium } from './scripts/chromium.mjs';

const root = path.dirname(fileURLToPath(import.meta.url));
// Parity fixtures: $DEARLI_FIXTURES when set, else the copy the repository carries (test/fixtures/reference).
const fixtures = path.resolve(process.env.DEARLI_FIXTURES ?? path.join(root, 'test/fixtures/reference'));

export default defineConfig({
  define: { __DEARLI_FIXTURES__: JSON.stringify(fixtures) },
  server: { fs: { allow: [root, fixtures] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'workers/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.browser.test.ts', 'node_modules/**'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          // Vitest's default (CPUs − 1) runs one file at a time on a 2-core machine; the tests are
          // single-threaded tfjs-cpu work, so two at once nearly halve the Node suite there.
          maxWorkers: Math.max(2, availableParallelism() - 1),
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          // The same parity tests, now on tfjs WebGPU (SwiftShader here, a real GPU elsewhere).
          include: ['src/**/*.parity.test.ts', 'src/**/*.browser.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: findChromium() ?? undefined, args: CHROMIUM_ARGS },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});

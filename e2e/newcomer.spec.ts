import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test, type BrowserContext, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium.mjs';
import { openLab } from './helpers';

const PORT = Number(process.env.E2E_PORT ?? 4317);

/** A browser on its own profile folder: closing and relaunching it is a browser restart. */
function launch(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: findChromium() ?? undefined,
    args: CHROMIUM_ARGS,
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1280, height: 860 },
  });
}

async function demoReady(page: Page): Promise<void> {
  await openLab(page);
  await expect(page.locator('[data-testid="dataset-row"][data-name="Demo · validation"]')).toBeVisible({
    timeout: 180_000,
  });
}

async function startRun(page: Page): Promise<void> {
  const runsBefore = await page.getByTestId('run-row').count();
  await page.getByTestId('train-iterations').fill('2');
  await page.getByTestId('train-eval-every').fill('1');
  await page.getByTestId('train-eval-images').fill('1');
  await page.getByTestId('train-batch').fill('1');
  await page.getByTestId('train-start').click();
  // The new run is listed once it exists; until then the status shown is the previous run's.
  await expect(page.getByTestId('run-row')).toHaveCount(runsBefore + 1);
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 300_000 });
}

test('a newcomer: guide, pre-flight refusal, runs kept side by side, predictions and storage after a restart', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'dearli-newcomer-'));
  try {
    let context = await launch(profile);
    let page = context.pages()[0] ?? (await context.newPage());
    await demoReady(page);

    // The guide names the next action; a greyed button says why.
    await expect(page.getByTestId('guide-next')).toContainText('Train');
    await page.getByTestId('tab-masks').click();
    await expect(page.getByTestId('mask-run')).toBeDisabled();
    await expect(page.getByTestId('mask-run-why')).toContainText('Tick the datasets');

    // DeWa without masks is refused before any run exists.
    await page.getByTestId('tab-train').click();
    await expect(page.getByTestId('train-preset-size')).toContainText('M parameters');
    await page.getByTestId('train-kind').selectOption('dewa');
    await page.getByTestId('train-start').click();
    await expect(page.getByTestId('train-messages')).toContainText('Run mask stage');
    await expect(page.getByTestId('run-row')).toHaveCount(0);

    // Two supervised runs, both kept.
    await page.getByTestId('train-kind').selectOption('supervised');
    await startRun(page);
    await startRun(page);
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    await expect(page.getByTestId('per-class-table')).toBeVisible();

    // A browser restart: storage from the browser's estimate, the runs and their predictions back.
    await context.close();
    context = await launch(profile);
    page = context.pages()[0] ?? (await context.newPage());
    await openLab(page);
    const estimate = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    expect(estimate).toBeGreaterThan(0);
    await expect
      .poll(async () => Number(await page.getByTestId('storage').getAttribute('data-usage')))
      .toBeGreaterThan(0);
    await page.getByTestId('tab-train').click();
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    await expect(page.getByTestId('prediction-row').first()).toBeVisible();
    await page.getByTestId('run-row').nth(1).getByTestId('run-open').click();
    await expect(page.getByTestId('prediction-row').first()).toBeVisible();
    await expect(page.getByTestId('per-class-table')).toBeVisible();
    await context.close();
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});

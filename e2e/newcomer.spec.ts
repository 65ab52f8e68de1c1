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

/** Starts a short run (validated once, at its end, on one image); returns its id once it is listed. */
async function startRun(page: Page, iterations: number): Promise<string> {
  const runsBefore = await page.getByTestId('run-row').count();
  await page.getByTestId('train-iterations').fill(String(iterations));
  await page.getByTestId('train-eval-every').fill('0');
  await page.getByTestId('train-eval-images').fill('1');
  await page.getByTestId('train-batch').fill('1');
  await page.getByTestId('train-start').click();
  // The new run is listed once it exists; until then the status shown is the previous run's.
  await expect(page.getByTestId('run-row')).toHaveCount(runsBefore + 1);
  return (await page.getByTestId('run-row').first().getAttribute('data-run-id'))!;
}

function runRow(page: Page, runId: string) {
  return page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
}

/** Pauses the run shown as soon as it trains: between two steps, before its last. */
async function pauseShownRun(page: Page, runId: string): Promise<void> {
  await expect(runRow(page, runId)).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
  await page.getByTestId('train-pause').click();
  await expect(runRow(page, runId)).toHaveAttribute('data-status', 'paused', { timeout: 300_000 });
}

/** Opens a listed run and resumes it to its end. */
async function resumeToEnd(page: Page, runId: string): Promise<void> {
  await runRow(page, runId).getByTestId('run-open').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'paused');
  await page.getByTestId('train-resume').click();
  await expect(runRow(page, runId)).toHaveAttribute('data-status', 'finished', { timeout: 300_000 });
}

/** Every greyed button on the page says why: its title, and the element its aria-describedby names. */
async function greyedButtonsExplained(page: Page): Promise<number> {
  const greyed = await page.locator('button:disabled').evaluateAll((buttons) =>
    buttons.map((b) => ({
      text: b.textContent,
      title: b.getAttribute('title') ?? '',
      described: document.getElementById(b.getAttribute('aria-describedby') ?? '')?.textContent ?? '',
    })),
  );
  for (const b of greyed) {
    expect(b.title, `greyed "${b.text}"`).not.toBe('');
    expect(b.described, `greyed "${b.text}"`).toBe(b.title);
  }
  return greyed.length;
}

test('a newcomer: guide and greyed buttons, pre-flight refusal, DeWa AR, two runs paused and resumed, predictions and storage after a restart', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'dearli-newcomer-'));
  try {
    let context = await launch(profile);
    let page = context.pages()[0] ?? (await context.newPage());
    await demoReady(page);

    // The guide names the next action; a greyed button says why, on every tab.
    await expect(page.getByTestId('guide-next')).toContainText('Train');
    let greyed = await greyedButtonsExplained(page);
    await page.getByTestId('tab-models').click();
    await expect(page.getByTestId('class-names-save')).toBeDisabled();
    greyed += await greyedButtonsExplained(page);
    await page.getByTestId('tab-masks').click();
    await expect(page.getByTestId('mask-run')).toBeDisabled();
    await expect(page.getByTestId('mask-run-why')).toContainText('Tick the datasets');
    greyed += await greyedButtonsExplained(page);
    await page.getByTestId('tab-use').click();
    await expect(page.getByTestId('use-open-run')).toBeDisabled();
    greyed += await greyedButtonsExplained(page);
    expect(greyed).toBeGreaterThanOrEqual(3);

    // DeWa without masks is refused before any run exists.
    await page.getByTestId('tab-train').click();
    await expect(page.getByTestId('train-preset-size')).toContainText('M parameters');
    await page.getByTestId('train-kind').selectOption('dewa');
    await page.getByTestId('train-start').click();
    await expect(page.getByTestId('train-messages')).toContainText('Run mask stage');
    await expect(page.getByTestId('run-row')).toHaveCount(0);

    await greyedButtonsExplained(page);

    // With masks, DeWa trains and is validated by class-agnostic mask recall (AR), not PQ.
    await page.getByTestId('tab-masks').click();
    await page
      .locator('[data-testid="mask-dataset"][data-name="Demo · labeled"]')
      .getByTestId('mask-dataset-check')
      .setChecked(true);
    await page.getByTestId('mask-run').click();
    await expect(page.getByTestId('mask-summary')).toHaveAttribute('data-computed', '8', { timeout: 150_000 });
    await page.getByTestId('tab-train').click();
    await expect(page.getByTestId('train-preset-size')).toContainText('M parameters');
    await page.getByTestId('train-kind').selectOption('dewa');
    await page.getByTestId('train-dataset').selectOption({ label: 'Demo · labeled (8)' });
    const dewa = await startRun(page, 1);
    await expect(runRow(page, dewa)).toHaveAttribute('data-status', 'finished', { timeout: 300_000 });
    await expect(page.getByTestId('recall-chart')).toBeVisible();
    const ar = Number(await page.getByTestId('last-recall').getAttribute('data-ar'));
    expect(ar).toBeGreaterThanOrEqual(0);
    expect(ar).toBeLessThanOrEqual(1);

    // Two supervised runs kept side by side, both paused and both resumed to their end.
    await page.getByTestId('train-kind').selectOption('supervised');
    const first = await startRun(page, 3);
    await pauseShownRun(page, first);
    const second = await startRun(page, 3);
    await pauseShownRun(page, second);
    await resumeToEnd(page, first);
    await expect(page.getByTestId('per-class-table')).toBeVisible();
    await resumeToEnd(page, second);
    await expect(page.getByTestId('run-row')).toHaveCount(3);
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
    await expect(page.getByTestId('run-row')).toHaveCount(3);
    await expect(page.getByTestId('prediction-row').first()).toBeVisible();
    await runRow(page, first).getByTestId('run-open').click();
    await expect(page.getByTestId('prediction-row').first()).toBeVisible();
    await expect(page.getByTestId('per-class-table')).toBeVisible();
    await runRow(page, dewa).getByTestId('run-open').click();
    expect(Number(await page.getByTestId('last-recall').getAttribute('data-ar'))).toBe(ar);
    await context.close();
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { encodeMask, rleArea, toCocoRle } from '../src/core/rle';
import { openLab } from './helpers';

/** The reference fixtures, read from where they live (never copied into the repo). */
const FIXTURES = process.env.DEARLI_FIXTURES ?? path.resolve(process.cwd(), 'test/fixtures/reference');
const SERVED: Record<string, string> = {
  '/sam-tiny/sam_hf.safetensors': path.join(FIXTURES, 'sam-tiny', 'sam_hf.safetensors'),
  '/sam-tiny/config.json': path.join(FIXTURES, 'sam-tiny', 'config.json'),
};
const CORS = { 'access-control-allow-origin': '*' };
const LABELED = 'Demo · labeled';
const VALIDATION = 'Demo · validation';
const SIDE = 256;

function datasetRow(page: Page, name: string) {
  return page.locator(`[data-testid="mask-dataset"][data-name="${name}"]`);
}

async function setChecked(page: Page, name: string, checked: boolean) {
  await datasetRow(page, name).getByTestId('mask-dataset-check').setChecked(checked);
}

async function runStage(page: Page, expected: { computed: number; skipped: number }) {
  await page.getByTestId('mask-run').click();
  const summary = page.getByTestId('mask-summary');
  await expect(summary).toBeVisible({ timeout: 150_000 });
  await expect(summary).toHaveAttribute('data-computed', String(expected.computed));
  await expect(summary).toHaveAttribute('data-skipped', String(expected.skipped));
}

/** One SA-1B style file for a 256×256 demo image: a box and everything else. */
function sa1bFile(fileName: string): string {
  const box = new Uint8Array(SIDE * SIDE);
  for (let y = 40; y < 120; y++) for (let x = 30; x < 200; x++) box[y * SIDE + x] = 1;
  const rest = box.map((v) => 1 - v);
  const annotations = [box, rest].map((mask, id) => {
    const rle = encodeMask(mask, SIDE, SIDE);
    return {
      id,
      segmentation: toCocoRle(rle),
      area: rleArea(rle),
      predicted_iou: 0.9 + id / 100,
      stability_score: 0.97,
      bbox: [0, 0, 1, 1],
    };
  });
  return JSON.stringify({ image: { image_id: 1, file_name: fileName, height: SIDE, width: SIDE }, annotations });
}

test('mask stage with tiny SAM weights and with the fallback, kept across a reload, viewed, and SA-1B masks imported', async ({
  page,
}) => {
  await page.context().route('https://weights.test/**', async (route) => {
    const file = SERVED[new URL(route.request().url()).pathname];
    if (!file) return route.fulfill({ status: 404, headers: CORS, body: 'not found' });
    const body = readFileSync(file);
    await route.fulfill({ status: 200, headers: { ...CORS, 'content-length': String(body.length) }, body });
  });
  await openLab(page);
  await page.getByTestId('tab-masks').click();
  await expect(page.getByTestId('mask-generator')).toHaveAttribute('data-kind', 'fallback');
  await expect(page.getByTestId('mask-generator')).toContainText('fallback');

  // The fallback over the validation set.
  await setChecked(page, VALIDATION, true);
  await runStage(page, { computed: 16, skipped: 0 });
  await expect(datasetRow(page, VALIDATION).getByTestId('mask-stats')).toHaveAttribute('data-processed', '16');

  // Tiny SAM from a URL over the labeled set (few points, no score filtering: random weights).
  await page.getByTestId('sam-source-kind').selectOption('url');
  await page.getByTestId('sam-source-url').fill('https://weights.test/sam-tiny/sam_hf.safetensors');
  await page.getByTestId('sam-config-kind').selectOption('url');
  await page.getByTestId('sam-config-url').fill('https://weights.test/sam-tiny/config.json');
  await page.getByTestId('sam-load').click();
  await expect(page.getByTestId('mask-generator')).toHaveAttribute('data-kind', 'sam', { timeout: 60_000 });
  await expect(page.getByTestId('sam-card').getByTestId('card-params')).not.toHaveAttribute('data-value', '0');
  await page.getByTestId('mask-points').fill('4');
  await page.getByTestId('mask-iou').fill('0');
  await page.getByTestId('mask-stability').fill('0');
  await setChecked(page, VALIDATION, false);
  await setChecked(page, LABELED, true);
  await runStage(page, { computed: 8, skipped: 0 });
  await expect(datasetRow(page, LABELED).getByTestId('mask-stats')).toContainText('SAM 8');

  // A reload keeps every mask; running the fallback again over the validation set redoes nothing.
  await page.context().unroute('https://weights.test/**');
  await page.context().route('https://weights.test/**', (route) => route.abort());
  await page.reload();
  await expect(page.getByTestId('mask-generator')).toHaveAttribute('data-kind', 'fallback', { timeout: 120_000 });
  await expect(datasetRow(page, LABELED).getByTestId('mask-stats')).toHaveAttribute('data-processed', '8');
  await expect(datasetRow(page, VALIDATION).getByTestId('mask-stats')).toHaveAttribute('data-processed', '16');
  await setChecked(page, LABELED, false);
  await setChecked(page, VALIDATION, true);
  await runStage(page, { computed: 0, skipped: 16 });

  // The viewer shows an image's masks with their count and scores.
  await page.getByTestId('viewer-dataset').selectOption({ label: VALIDATION });
  await page.getByTestId('mask-thumb').first().click();
  const viewer = page.getByTestId('mask-viewer');
  await expect(viewer.getByTestId('mask-overlay')).toBeVisible();
  await expect(viewer.getByTestId('mask-source')).toHaveText('fallback (Felzenszwalb)');
  const count = Number(await viewer.getByTestId('mask-count').textContent());
  expect(count).toBeGreaterThan(0);
  await expect(viewer.getByTestId('mask-table').locator('tbody tr')).toHaveCount(Math.min(count, 20));
  await page.screenshot({ path: 'test-results/masks-viewer.png', fullPage: true });

  // A folder of SA-1B JSONs: two good files, one cut short; the broken one is named.
  const dir = mkdtempSync(path.join(tmpdir(), 'dearli-sa1b-'));
  const folder = path.join(dir, 'sam-vit-h-masks');
  mkdirSync(folder);
  writeFileSync(path.join(folder, 'demo_labeled_00000.json'), sa1bFile('demo_labeled_00000.png'));
  writeFileSync(path.join(folder, 'demo_labeled_00001.json'), sa1bFile('demo_labeled_00001.png'));
  writeFileSync(path.join(folder, 'broken_masks.json'), sa1bFile('demo_labeled_00002.png').slice(0, 120));
  await page.getByTestId('sa1b-dataset').selectOption({ label: LABELED });
  await page.getByTestId('sa1b-input').setInputFiles(folder);
  await expect(page.getByTestId('sa1b-result')).toHaveAttribute('data-imported', '2');
  await expect(page.getByTestId('sa1b-messages')).toContainText('broken_masks.json');
  await expect(page.getByTestId('sa1b-messages')).toContainText('not valid JSON');
  await expect(datasetRow(page, LABELED).getByTestId('mask-stats')).toContainText('imported 2');

  await page.getByTestId('viewer-dataset').selectOption({ label: LABELED });
  await page.getByTestId('mask-thumb').first().click();
  await expect(viewer.getByTestId('mask-source')).toHaveText('imported');
  await expect(viewer.getByTestId('mask-count')).toHaveText('2');
  await expect(viewer.getByTestId('mask-table')).toContainText('0.910');
});

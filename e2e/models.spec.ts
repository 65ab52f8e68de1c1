import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page, type Route } from '@playwright/test';
import { openLab } from './helpers';

/** The reference fixtures, read from where they live (never copied into the repo). */
const FIXTURES = process.env.DEARLI_FIXTURES ?? path.resolve(process.cwd(), 'test/fixtures/reference');
const CLIP_DIR = path.join(FIXTURES, 'openclip-convnext-tiny');
const TOKENIZER_DIR = path.join(FIXTURES, 'clip-tokenizer');

const SERVED: Record<string, string> = {
  '/clip-tiny/weights.safetensors': path.join(CLIP_DIR, 'weights.safetensors'),
  '/clip-tiny/config.json': path.join(CLIP_DIR, 'config.json'),
  '/tokenizer/bpe_simple_vocab_16e6.txt.gz': path.join(TOKENIZER_DIR, 'bpe_simple_vocab_16e6.txt.gz'),
};

const CORS = { 'access-control-allow-origin': '*' };

/** Serves the fixture files under https://weights.test/ and counts the requests. */
async function serveFixtures(page: Page): Promise<string[]> {
  const requested: string[] = [];
  await page.context().route('https://weights.test/**', async (route: Route) => {
    const url = new URL(route.request().url());
    requested.push(url.pathname);
    const file = SERVED[url.pathname];
    if (!file) return route.fulfill({ status: 404, headers: CORS, body: 'not found' });
    const body = readFileSync(file);
    await route.fulfill({
      status: 200,
      headers: { ...CORS, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      body,
    });
  });
  return requested;
}

/** Parameter count from the safetensors header: the sum of every tensor's elements. */
function safetensorsParameters(file: string): number {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { shape?: number[] }
  >;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .reduce((n, [, t]) => n + (t.shape ?? []).reduce((a, d) => a * d, 1), 0);
}

const DEMO_CLIP = 'demo CLIP (trained on the demo world)';

/** Opens the Models tab once the page's own CLIP (the demo CLIP on a fresh profile) has loaded. */
async function openModelsTab(page: Page) {
  await openLab(page);
  await page.getByTestId('tab-models').click();
  await expect(page.getByTestId('clip-panel')).toBeVisible();
  await expect(page.getByTestId('model-card').getByTestId('card-name')).toHaveText(DEMO_CLIP, { timeout: 120_000 });
  await expect(page.getByTestId('saved-model')).toHaveCount(1);
}

async function fillUrlSources(page: Page, weightsUrl: string) {
  await page.getByTestId('clip-source-kind').selectOption('url');
  await page.getByTestId('clip-source-url').fill(weightsUrl);
  await page.getByTestId('clip-config-kind').selectOption('url');
  await page.getByTestId('clip-config-url').fill('https://weights.test/clip-tiny/config.json');
  await page.getByTestId('clip-tokenizer-kind').selectOption('url');
  await page.getByTestId('clip-tokenizer-url').fill('https://weights.test/tokenizer/bpe_simple_vocab_16e6.txt.gz');
}

test('load tiny CLIP from a URL, see its card, evaluate zero-shot with GT masks, reload from the cache offline, free it', async ({
  page,
}) => {
  const requested = await serveFixtures(page);
  await openModelsTab(page);
  await expect(page.getByTestId('clip-demo-note')).toContainText('not a real CLIP');

  await fillUrlSources(page, 'https://weights.test/clip-tiny/weights.safetensors');
  await page.getByTestId('clip-load').click();
  const card = page.getByTestId('model-card');
  await expect(card).toBeVisible({ timeout: 120_000 });
  const weightsFile = path.join(CLIP_DIR, 'weights.safetensors');
  const sha256 = createHash('sha256').update(readFileSync(weightsFile)).digest('hex');
  await expect(card.getByTestId('card-sha256')).toHaveText(sha256);
  await expect(card.getByTestId('card-params')).toHaveAttribute(
    'data-value',
    String(safetensorsParameters(weightsFile)),
  );
  await expect(card.getByTestId('card-size')).toHaveAttribute('data-value', String(readFileSync(weightsFile).length));
  await expect(card.getByTestId('card-source')).toHaveText('https://weights.test/clip-tiny/weights.safetensors');
  expect(requested).toEqual(expect.arrayContaining(Object.keys(SERVED)));

  // Zero-shot with ground-truth masks on the demo validation set.
  await page.getByTestId('zs-dataset').selectOption({ label: 'Demo · validation (validation)' });
  await page.getByTestId('run-zeroshot').click();
  const table = page.getByTestId('zeroshot-table');
  await expect(table).toBeVisible({ timeout: 450_000 });
  const classCount = await page.getByTestId('class-names-input').count();
  expect(classCount).toBeGreaterThan(0);
  await expect(table.getByTestId('zeroshot-row')).toHaveCount(classCount);
  for (const pq of await table.getByTestId('zeroshot-pq').allTextContents()) {
    expect(Number(pq)).toBeGreaterThanOrEqual(0);
    expect(Number(pq)).toBeLessThanOrEqual(100);
  }
  await expect(page.getByTestId('zeroshot-evaluator')).toContainText('PanopticEvaluator (src/core/pq.ts');
  await expect(page.getByTestId('zeroshot-summary')).toContainText('16 images');
  await expect(page.getByTestId('embeddings-summary')).toContainText('14 templates');
  // The evaluation cached every image's res5 map: the feature stage only reuses them.
  await page.getByTestId('run-features').click();
  await expect(page.getByTestId('features-summary')).toContainText('0 computed, 16 reused');
  await page.screenshot({ path: 'test-results/models-zeroshot.png', fullPage: true });

  // Editing the class names recomputes the text embeddings (one row per synonym).
  const rowsBefore = Number((await page.getByTestId('embeddings-summary').textContent())!.match(/(\d+) rows/)![1]);
  await page.getByTestId('class-names').locator('summary').click();
  const first = page.getByTestId('class-names-input').first();
  await first.fill(`${await first.inputValue()}, extra synonym`);
  await page.getByTestId('class-names-save').click();
  await expect(page.getByTestId('embeddings-summary')).toContainText(`${rowsBefore + 1} rows`);

  // After a reload the chosen model loads again from the cache with the network gone.
  await page.context().unroute('https://weights.test/**');
  await page.context().route('https://weights.test/**', (route) => route.abort());
  await page.reload();
  await page.getByTestId('tab-models').click();
  await expect(page.getByTestId('model-card').getByTestId('card-sha256')).toHaveText(sha256, { timeout: 120_000 });
  await expect(page.getByTestId('saved-model')).toHaveCount(2);
  await expect(page.getByTestId('zeroshot-table').getByTestId('zeroshot-row')).toHaveCount(classCount);

  // Freeing it unloads it; the demo CLIP's three files stay.
  await page
    .getByTestId('saved-model')
    .filter({ hasText: sha256.slice(0, 12) })
    .getByTestId('saved-free')
    .click();
  await expect(page.getByTestId('saved-model')).toHaveCount(1);
  await expect(page.getByTestId('cached-files-summary')).toContainText('3 cached files');
  await expect(page.getByTestId('clip-none')).toBeVisible();
});

test('a cancelled download leaves no cached entry', async ({ page }) => {
  await page.context().route('https://weights.test/**', () => {
    // Never answers: the download hangs until it is cancelled.
  });
  await openModelsTab(page);
  await fillUrlSources(page, 'https://weights.test/stalled/weights.safetensors');
  await page.getByTestId('clip-load').click();
  await expect(page.getByTestId('model-download-text')).toContainText('weights');
  await page.getByTestId('model-cancel').click();
  await expect(page.getByTestId('models-messages')).toContainText('cancelled');
  await expect(page.getByTestId('model-download')).toHaveCount(0);
  // Only the demo CLIP's three files are cached, and it is still the model a reload loads.
  await expect(page.getByTestId('cached-files-summary')).toContainText('3 cached files');
  await page.reload();
  await page.getByTestId('tab-models').click();
  await expect(page.getByTestId('model-card').getByTestId('card-name')).toHaveText(DEMO_CLIP, { timeout: 120_000 });
  await expect(page.getByTestId('saved-model')).toHaveCount(1);
  await expect(page.getByTestId('cached-files-summary')).toContainText('3 cached files');
});

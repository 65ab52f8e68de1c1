import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { BlobReader, Uint8ArrayWriter, ZipReader, type FileEntry } from '@zip.js/zip.js';
import { demoAsCocoFiles, generateDemoDataset } from '../src/data/demo';
import { openLab } from './helpers';

/** What the Use view shows for an image: the overlay's pixels (as a hash-free string) and the legend. */
async function segmentation(page: Page, image: { name: string; mimeType: string; buffer: Buffer }) {
  await page.getByTestId('use-images-input').setInputFiles(image);
  await expect(page.getByTestId('use-result')).toBeVisible({ timeout: 300_000 });
  return { pixels: await overlayPixels(page), legend: await page.getByTestId('use-legend').innerText() };
}

function overlayPixels(page: Page): Promise<string> {
  return page
    .getByTestId('use-overlay')
    .evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data).join(','),
    );
}

/**
 * Unloads the demo CLIP the lab loads at start, so the page trains on the offline random backbone. A model
 * trained two iterations on the demo CLIP predicts void for every query (its no-object class learns
 * first), which would leave nothing to compare; on the untrained stand-in's features it still segments.
 */
async function useOfflineBackbone(page: Page) {
  await page.getByTestId('tab-models').click();
  await expect(page.getByTestId('clip-unload')).toBeEnabled({ timeout: 180_000 });
  await page.getByTestId('clip-unload').click();
  await expect(page.getByTestId('clip-unload')).toHaveCount(0, { timeout: 60_000 });
}

test('a briefly trained model, shared by link, segments a demo image the same in a fresh browser context; tampering is refused', async ({
  page,
  browser,
}) => {
  const demo = generateDemoDataset({ seed: 4, width: 48, height: 32, labeled: 1, unlabeled: 0, validation: 0 });
  const imageFile = demoAsCocoFiles(demo, 'labeled').find((f) => f.path.includes('/labeled/'))!;
  const image = { name: 'demo.png', mimeType: 'image/png', buffer: Buffer.from(await imageFile.file.arrayBuffer()) };

  await openLab(page);
  await expect(page.locator('[data-testid="dataset-row"][data-name="Demo · validation"]')).toBeVisible({
    timeout: 180_000,
  });
  await useOfflineBackbone(page);
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('train-backbone')).toContainText('random ConvNeXt', { timeout: 60_000 });
  // The presets load with the backbone; the form proposes their settings then, so fill it only after.
  await expect(page.getByTestId('train-start')).toBeEnabled({ timeout: 180_000 });
  await page.getByTestId('train-iterations').fill('2');
  await page.getByTestId('train-eval-every').fill('0');
  await page.getByTestId('train-eval-images').fill('1');
  await page.getByTestId('train-batch').fill('1');
  await page.locator('label', { hasText: 'Crop' }).locator('input').fill('32');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 300_000 });

  await page.getByTestId('tab-use').click();
  await page.getByTestId('use-open-run').click();
  await expect(page.getByTestId('use-card')).toBeVisible({ timeout: 120_000 });
  const original = await segmentation(page, image);
  expect(await page.getByTestId('use-segment').count()).toBeGreaterThan(0);
  await expect(page.getByTestId('use-alpha-shown')).toHaveAttribute('data-alpha', '0.6');
  // Each legend entry shows its class and its score (a probability).
  const score = Number(await page.getByTestId('use-segment').first().getAttribute('data-score'));
  expect(score).toBeGreaterThan(0);
  expect(score).toBeLessThanOrEqual(1);
  await expect(page.getByTestId('use-segment').first()).toContainText(score.toFixed(2));
  // Moving α re-segments the shown image with the open model; back at 0.6 it is the first segmentation again.
  await page.getByTestId('use-alpha').fill('0');
  await expect(page.getByTestId('use-alpha-shown')).toHaveAttribute('data-alpha', '0', { timeout: 120_000 });
  await page.getByTestId('use-alpha').fill('0.6');
  await expect(page.getByTestId('use-alpha-shown')).toHaveAttribute('data-alpha', '0.6', { timeout: 120_000 });
  expect(await overlayPixels(page)).toEqual(original.pixels);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('use-export-bundle').click()]);
  const zip = readFileSync((await download.path())!);
  const entries = await new ZipReader(new BlobReader(new Blob([zip]))).getEntries();
  const served = new Map<string, Uint8Array>();
  for (const e of entries) served.set(`/m/${e.filename}`, await (e as FileEntry).getData(new Uint8ArrayWriter()));
  const tampered = served.get('/m/model.safetensors')!.slice();
  tampered[tampered.length - 7] ^= 0x20;
  served.set('/t/model.json', served.get('/m/model.json')!);
  served.set('/t/model.safetensors', tampered);
  const server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.writeHead(body ? 200 : 404, { 'Content-Length': body?.length ?? 0 });
    res.end(body ? Buffer.from(body) : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await page.getByTestId('use-hosted-url').fill(`${base}/m/model.json`);
    await page.getByTestId('use-copy-link').click();
    const link = await page.getByTestId('use-link').innerText();
    expect(link).toMatch(/#model=.*&sha256=[0-9a-f]{64}$/);

    const fresh = await browser.newContext();
    // about:blank (between the links below) has no storage of its own.
    await fresh.addInitScript(() => {
      if (location.protocol === 'http:') localStorage.setItem('dearli.demoLoaded', '1');
    });
    const other = await fresh.newPage();
    // The fresh browser keeps the demo CLIP it loads at start: a model made on the stand-in opens beside it.
    await openLab(other);
    await other.goto('about:blank');
    await other.goto(link);
    await expect(other.getByTestId('use-card')).toBeVisible({ timeout: 180_000 });
    expect(await segmentation(other, image)).toEqual(original);

    for (const [bad, message] of [
      [link.replace(/sha256=[0-9a-f]+/, `sha256=${'e'.repeat(64)}`), 'sha256 the link carries'],
      [
        link.replace(encodeURIComponent(`${base}/m/`), encodeURIComponent(`${base}/t/`)),
        'do not have the sha256 the card records',
      ],
    ]) {
      await other.goto('about:blank');
      await other.goto(bad);
      await expect(other.getByTestId('use-messages')).toContainText(message, { timeout: 120_000 });
    }
    await fresh.close();
  } finally {
    server.close();
  }
});

import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { demoAsCocoFiles, generateDemoDataset } from '../src/data/demo';
import { datasetRow, dropFiles, openLab, toFileSpecs, type FileSpec } from './helpers';

/** A small COCO-panoptic folder made by the lab's own generator, under another root name. */
async function cocoFolder(root: string, seed: number, images = 3): Promise<FileSpec[]> {
  const demo = generateDemoDataset({ seed, width: 64, height: 48, labeled: images, unlabeled: 0, validation: 0 });
  const specs = await toFileSpecs(demoAsCocoFiles(demo, 'labeled'));
  return specs.map((s) => ({ ...s, path: s.path.replace(/^[^/]+/, root) }));
}

async function skipDemo(page: Page) {
  // These tests start from an empty lab: mark the demo as already offered before the app loads.
  await page.addInitScript(() => localStorage.setItem('dearli.demoLoaded', '1'));
}

async function importDropped(page: Page, files: FileSpec[], name: string) {
  await dropFiles(page, files);
  await expect(page.getByTestId('import-preview')).toBeVisible();
  await page.getByTestId('import-name').fill(name);
  await page.getByTestId('import-commit').click();
  await expect(datasetRow(page, name)).toBeVisible();
}

test('drop a COCO panoptic folder, browse it, see the overlay, survive a reload, delete it', async ({ page }) => {
  await skipDemo(page);
  await openLab(page);
  await expect(page.getByTestId('no-datasets')).toBeVisible();

  const files = await cocoFolder('street-scenes', 7, 3);
  await dropFiles(page, files);
  await expect(page.getByTestId('import-preview')).toContainText('coco-panoptic');
  await expect(page.getByTestId('preview-images')).toHaveText('3');
  await page.getByTestId('import-name').fill('Street scenes');
  await page.getByTestId('import-commit').click();
  const row = datasetRow(page, 'Street scenes');
  await expect(row.getByTestId('dataset-count')).toHaveText('3 images');
  await expect(page.getByTestId('thumbnail')).toHaveCount(3);

  await page.getByTestId('thumbnail').first().click();
  const viewer = page.getByTestId('image-viewer');
  await expect(viewer.getByTestId('overlay')).toBeVisible();
  await expect(viewer.getByTestId('segment-table').locator('tbody tr').first()).toBeVisible();
  // Hovering the overlay names the class under the pointer.
  const box = (await viewer.getByTestId('overlay').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect(viewer.getByTestId('hover-label')).not.toBeEmpty();
  await page.screenshot({ path: 'test-results/viewer.png' });
  await viewer.getByTestId('viewer-close').click();

  await page.reload();
  await expect(datasetRow(page, 'Street scenes').getByTestId('dataset-count')).toHaveText('3 images');
  await expect(page.getByTestId('thumbnail')).toHaveCount(3);

  page.once('dialog', (d) => void d.accept());
  await datasetRow(page, 'Street scenes').getByTestId('dataset-delete').click();
  await expect(datasetRow(page, 'Street scenes')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('no-datasets')).toBeVisible();
});

test('pick a folder with the folder input and rename the dataset', async ({ page }) => {
  await skipDemo(page);
  await openLab(page);
  const dir = mkdtempSync(path.join(tmpdir(), 'dearli-e2e-'));
  for (const f of await cocoFolder('picked', 11, 2)) {
    mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    writeFileSync(path.join(dir, f.path), f.bytes);
  }
  await page.getByTestId('folder-input').setInputFiles(path.join(dir, 'picked'));
  await expect(page.getByTestId('preview-images')).toHaveText('2');
  await page.getByTestId('import-name').fill('Picked');
  await page.getByTestId('import-commit').click();
  await expect(datasetRow(page, 'Picked').getByTestId('dataset-count')).toHaveText('2 images');

  await datasetRow(page, 'Picked').getByTestId('dataset-rename').click();
  await page.getByTestId('rename-input').fill('Picked (renamed)');
  await page.getByTestId('rename-input').press('Enter');
  await expect(datasetRow(page, 'Picked (renamed)')).toBeVisible();
  await page.reload();
  await expect(datasetRow(page, 'Picked (renamed)')).toBeVisible();
});

test('a broken folder is reported file by file and the stored dataset stays intact', async ({ page }) => {
  await skipDemo(page);
  await openLab(page);
  await importDropped(page, await cocoFolder('good', 3, 2), 'Good');

  const broken = await cocoFolder('broken', 5, 3);
  const jsonIdx = broken.findIndex((f) => f.path.endsWith('.json'));
  const json = JSON.parse(new TextDecoder().decode(broken[jsonIdx].bytes));
  json.annotations[0].segments_info.pop(); // an id in the PNG missing from segments_info
  json.annotations[1].segments_info[0].category_id = 999; // an unknown category
  broken[jsonIdx] = { ...broken[jsonIdx], bytes: new TextEncoder().encode(JSON.stringify(json)) };
  broken.push({ path: 'broken/notes.txt', bytes: new TextEncoder().encode('not an image') });
  await dropFiles(page, broken);

  const messages = page.getByTestId('import-messages');
  await expect(messages).toContainText(json.annotations[0].file_name);
  await expect(messages).toContainText('999');
  await expect(messages).toContainText('notes.txt');
  await expect(page.getByTestId('import-commit')).toBeDisabled();
  await page.screenshot({ path: 'test-results/broken-import.png' });
  await expect(datasetRow(page, 'Good').getByTestId('dataset-count')).toHaveText('2 images');

  await page.reload();
  await expect(datasetRow(page, 'Good').getByTestId('dataset-count')).toHaveText('2 images');
  await datasetRow(page, 'Good').getByTestId('dataset-open').click();
  await expect(page.getByTestId('thumbnail')).toHaveCount(2);
});

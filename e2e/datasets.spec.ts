import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  // A skipped file is a notice, not an error.
  await expect(page.getByTestId('import-notices')).toContainText('notes.txt');
  await expect(messages).not.toContainText('notes.txt');
  await expect(page.getByTestId('import-commit')).toBeDisabled();
  await page.screenshot({ path: 'test-results/broken-import.png' });
  await expect(datasetRow(page, 'Good').getByTestId('dataset-count')).toHaveText('2 images');

  await page.reload();
  await expect(datasetRow(page, 'Good').getByTestId('dataset-count')).toHaveText('2 images');
  await datasetRow(page, 'Good').getByTestId('dataset-open').click();
  await expect(page.getByTestId('thumbnail')).toHaveCount(2);
});

/** Every file under `dir` as a spec whose path starts with the folder's own name, as a drop of the folder gives. */
function folderSpecs(dir: string): FileSpec[] {
  const base = path.dirname(dir);
  return (
    readdirSync(dir, { recursive: true, withFileTypes: true }) as {
      name: string;
      parentPath: string;
      isFile(): boolean;
    }[]
  )
    .filter((e) => e.isFile())
    .map((e) => {
      const full = path.join(e.parentPath, e.name);
      return { path: path.relative(base, full).split(path.sep).join('/'), bytes: new Uint8Array(readFileSync(full)) };
    });
}

test('the folder that demo:generate writes, dropped whole, imports as its splits', async ({ page }) => {
  await skipDemo(page);
  await openLab(page);
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'dearli-e2e-')), 'demo-world');
  execFileSync(
    'npx',
    [
      'tsx',
      'scripts/generate-demo.ts',
      '--out',
      out,
      '--size',
      '32',
      '--labeled',
      '3',
      '--unlabeled',
      '4',
      '--validation',
      '2',
    ],
    { stdio: 'pipe' },
  );
  await dropFiles(page, folderSpecs(out));

  const splits = page.getByTestId('import-split');
  await expect(splits).toHaveCount(3);
  await expect(page.getByTestId('import-preview')).toContainText('Found 3 splits');
  await expect(splits.getByTestId('preview-images')).toHaveText(['3', '2', '4']);
  await expect(splits.getByTestId('import-role').nth(0)).toHaveValue('labeled');
  await expect(splits.getByTestId('import-role').nth(1)).toHaveValue('validation');
  await expect(splits.getByTestId('import-role').nth(2)).toHaveValue('unlabeled');
  // No mask PNG is counted as an image left out.
  await expect(page.getByTestId('import-notices')).toHaveCount(0);
  await expect(page.getByTestId('import-messages')).toHaveCount(0);
  await splits.getByTestId('import-name').nth(0).fill('World train');
  await splits.getByTestId('import-name').nth(1).fill('World val');
  await splits.getByTestId('import-name').nth(2).fill('World photos');
  await page.screenshot({ path: 'test-results/import-splits.png' });
  await page.getByTestId('import-commit').click();

  await expect(datasetRow(page, 'World train').getByTestId('dataset-count')).toHaveText('3 images');
  await expect(datasetRow(page, 'World val').getByTestId('dataset-count')).toHaveText('2 images');
  await expect(datasetRow(page, 'World photos').getByTestId('dataset-count')).toHaveText('4 images');
  await expect(datasetRow(page, 'World val')).toContainText('validation');
  await expect(datasetRow(page, 'World photos')).toContainText('unlabeled');
  await page.reload();
  await expect(datasetRow(page, 'World photos').getByTestId('dataset-count')).toHaveText('4 images');
});

test('a COCO folder whose panoptic JSON has no categories is refused as COCO; an empty folder is named', async ({
  page,
}) => {
  await skipDemo(page);
  await openLab(page);
  const files = await cocoFolder('no-categories', 9, 2);
  const jsonIdx = files.findIndex((f) => f.path.endsWith('.json'));
  const json = JSON.parse(new TextDecoder().decode(files[jsonIdx].bytes));
  delete json.categories;
  files[jsonIdx] = { ...files[jsonIdx], bytes: new TextEncoder().encode(JSON.stringify(json)) };
  await dropFiles(page, files);

  await expect(page.getByTestId('import-preview')).toContainText('coco-panoptic');
  const messages = page.getByTestId('import-messages');
  await expect(messages.locator('li')).toHaveCount(1);
  await expect(messages).toContainText(files[jsonIdx].path);
  await expect(messages).toContainText('no "categories" list');
  await expect(page.getByTestId('import-commit')).toBeDisabled();
  await expect(page.getByTestId('import-blocked')).toHaveText(/fix the 1 problem below/);

  await dropFiles(page, [{ path: 'nothing-here/', bytes: new Uint8Array() }]);
  await expect(page.getByTestId('import-preview')).toHaveCount(0);
  await expect(page.getByTestId('import-messages')).toContainText('nothing-here/');
  await expect(page.getByTestId('import-messages')).toContainText('this folder holds no files');
  await expect(page.getByTestId('no-datasets')).toBeVisible();
});

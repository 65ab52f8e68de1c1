// Issue 13: hostile files dropped into the lab are refused with their message, and the page stays responsive.
import { expect, test, type Page } from '@playwright/test';
import { PickleWriter, rawZip } from '../test/hostile';
import { dropFiles, openLab } from './helpers';

/** The page answers a click on another tab within a few seconds (the worker's work does not block it). */
async function expectResponsive(page: Page): Promise<void> {
  const t0 = Date.now();
  await page.getByTestId('tab-models').click();
  await expect(page.getByTestId('clip-panel')).toBeVisible({ timeout: 5_000 });
  expect(Date.now() - t0).toBeLessThan(5_000);
}

test('a zip bomb dropped as a dataset and a hostile checkpoint loaded as CLIP weights are refused with their messages', async ({
  page,
}) => {
  await openLab(page);

  // 32 MiB of JSON in a ~32 kB zip: refused by the inflate ratio before it is inflated.
  const bomb = rawZip([
    { name: 'bomb/annotations/panoptic_train.json', data: new Uint8Array(32 * 1024 * 1024).fill(0x20) },
    { name: 'bomb/images/0001.png', data: new Uint8Array(10), method: 0 },
  ]);
  await dropFiles(page, [{ path: 'bomb.zip', bytes: bomb, type: 'application/zip' }]);
  await expect(page.getByTestId('import-messages')).toContainText(/zip bomb.*zipInflateRatio/);
  await expectResponsive(page);

  // A torch checkpoint whose dict contains itself.
  const pickle = new PickleWriter().raw(0x80, 0x02, 0x7d, 0x71, 0).str('self').raw(0x68, 0, 0x73).done();
  const checkpoint = rawZip([{ name: 'archive/data.pkl', data: pickle, method: 0 }]);
  await page.getByTestId('clip-source-kind').selectOption('file');
  await page.getByTestId('clip-source-file').setInputFiles({
    name: 'open_clip_pytorch_model.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(checkpoint),
  });
  await page.getByTestId('clip-config-kind').selectOption('preset');
  await page.getByTestId('clip-tokenizer-kind').selectOption('none');
  await page.getByTestId('clip-load').click();
  await expect(page.getByTestId('models-messages')).toContainText(/open_clip_pytorch_model\.bin.*contains itself/);
  await expectResponsive(page);
});

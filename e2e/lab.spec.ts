import { expect, test } from '@playwright/test';
import { openLab } from './helpers';

test('opens on WebGPU and shows the demo datasets on first run', async ({ page }) => {
  await openLab(page);
  await expect(page.getByTestId('backend-badge')).toHaveText(/^webgpu/);
  for (const name of ['Demo · labeled', 'Demo · unlabeled', 'Demo · validation']) {
    await expect(page.locator(`[data-testid="dataset-row"][data-name="${name}"]`)).toBeVisible({ timeout: 180_000 });
  }
  await expect(page.getByTestId('thumbnail').first()).toBeVisible();
  await page.screenshot({ path: 'test-results/lab-first-run.png' });
});

import { expect, test } from '@playwright/test';
import { openLab } from './helpers';

test('supervised training on the demo: curves move, pause, reload, resume from the same iteration', async ({
  page,
}) => {
  await openLab(page);
  await expect(page.locator('[data-testid="dataset-row"][data-name="Demo · validation"]')).toBeVisible({
    timeout: 180_000,
  });
  await page.getByTestId('tab-train').click();
  // npm start's default backbone: the shipped demo CLIP, named as such.
  await expect(page.getByTestId('train-backbone')).toContainText('demo CLIP (trained on the demo world)');
  await expect(page.getByTestId('train-preset-size')).toContainText('M parameters');
  await page.getByTestId('train-iterations').fill('60');
  await page.getByTestId('train-eval-every').fill('4');
  await page.getByTestId('train-eval-images').fill('2');
  await page.getByTestId('train-batch').fill('1');
  await page.getByTestId('train-start').click();

  const status = page.getByTestId('run-status');
  await expect(status).toHaveAttribute('data-status', 'running');
  // Losses arrive one step late (one readback per step): wait for a few points and a validation.
  await expect
    .poll(async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points')), { timeout: 300_000 })
    .toBeGreaterThanOrEqual(3);
  await expect
    .poll(async () => Number(await page.getByTestId('pq-chart').getAttribute('data-points')), { timeout: 300_000 })
    .toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('last-eval')).toContainText('PQ');
  await expect(page.getByTestId('prediction-row').first()).toBeVisible();

  await page.getByTestId('train-pause').click();
  await expect(status).toHaveAttribute('data-status', 'paused');
  const pausedAt = Number(await status.getAttribute('data-iteration'));
  expect(pausedAt).toBeGreaterThan(0);
  const lossPoints = Number(await page.getByTestId('loss-chart').getAttribute('data-points'));

  await page.reload();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'paused', { timeout: 60_000 });
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-iteration', String(pausedAt));
  await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-points', String(lossPoints));

  await page.getByTestId('train-resume').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'running');
  await expect
    .poll(async () => Number(await page.getByTestId('run-status').getAttribute('data-iteration')), { timeout: 300_000 })
    .toBeGreaterThan(pausedAt);
  // The curve continues from where it stopped rather than restarting at iteration 1.
  const losses = await page.evaluate(() =>
    document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points'),
  );
  expect(Number(losses)).toBeGreaterThanOrEqual(lossPoints);
  await page.screenshot({ path: 'test-results/training.png', fullPage: true });
  await page.getByTestId('train-pause').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'paused');
});

import { expect, test } from '@playwright/test';
import { openLab } from './helpers';

test('Run DEARLi on the demo; pause in Mean Teacher, reload, resume at the same iteration; α moves the strip without a decoder run; α sweep', async ({
  page,
}) => {
  test.setTimeout(900_000);
  await openLab(page);
  await expect(page.locator('[data-testid="dataset-row"][data-name="Demo · validation"]')).toBeVisible({
    timeout: 180_000,
  });
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('train-preset-size')).toContainText('M parameters');
  await page.getByTestId('train-iterations').fill('3');
  await page.getByTestId('dearli-dewa-iterations').fill('3');
  await page.getByTestId('train-eval-every').fill('3');
  await page.getByTestId('train-eval-images').fill('1');
  await page.getByTestId('train-batch').fill('1');
  await page.getByTestId('dearli-run').click();

  // The whole pipeline names its step; pause once Mean Teacher has trained an iteration.
  const dearli = page.getByTestId('dearli-status');
  await expect(dearli).toHaveAttribute('data-step', /masks|dewa|meanTeacher/, { timeout: 300_000 });
  await expect(dearli).toHaveAttribute('data-step', 'meanTeacher', { timeout: 600_000 });
  const status = page.getByTestId('run-status');
  await expect
    .poll(async () => Number(await status.getAttribute('data-iteration')), { timeout: 300_000 })
    .toBeGreaterThanOrEqual(1);
  await page.getByTestId('dearli-pause').click();
  await expect(dearli).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
  await expect(status).toHaveAttribute('data-status', 'paused');
  const pausedAt = Number(await status.getAttribute('data-iteration'));

  await page.reload();
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-iteration', String(pausedAt), { timeout: 60_000 });
  await expect(page.getByTestId('dearli-status')).toHaveAttribute('data-status', 'paused');
  await page.getByTestId('dearli-resume').click();
  await expect(page.getByTestId('dearli-status')).toHaveAttribute('data-status', 'finished', { timeout: 600_000 });
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-iteration', '3');
  await expect(page.getByTestId('mt-student-chart')).toHaveAttribute('data-points', '1');
  await expect(page.getByTestId('mt-teacher-chart')).toHaveAttribute('data-points', '1');

  // The strip re-ensembles the cached teacher outputs: moving α runs no decoder.
  const strip = page.getByTestId('pseudo-strip');
  await expect(strip).toBeVisible({ timeout: 120_000 });
  const runs = await strip.getAttribute('data-decoder-runs');
  await page.getByTestId('mt-alpha').fill('0.2');
  await expect(strip).toHaveAttribute('data-alpha', '0.2');
  await expect(strip).toHaveAttribute('data-decoder-runs', runs!);

  await page.getByTestId('mt-sweep').click();
  await expect(page.getByTestId('mt-sweep-chart')).toHaveAttribute('data-points', '11', { timeout: 300_000 });
  await expect(page.getByTestId('mt-sweep-best')).toContainText('best α');
  await page.screenshot({ path: 'test-results/mean-teacher.png', fullPage: true });
});

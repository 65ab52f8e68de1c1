import { expect, test } from '@playwright/test';
import { openLab } from './helpers';

const DEMO_CLIP = 'demo CLIP (trained on the demo world)';

test('Run DEARLi on the demo with the demo CLIP, offline; pause in Mean Teacher, reload, resume at the same iteration; α moves the strip without a decoder run; α sweep; compare the two runs', async ({
  page,
}) => {
  // The CLIP feature stage runs the demo CLIP over 56 images at 512 px on SwiftShader (minutes on a loaded CPU).
  test.setTimeout(1_500_000);
  // Offline: every request the page and its worker make must stay on 127.0.0.1 (others are refused and listed).
  const local: string[] = [];
  const outside: string[] = [];
  await page.context().route(
    (url) => url.protocol.startsWith('http'),
    (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') {
        local.push(url.pathname);
        return route.continue();
      }
      outside.push(url.href);
      return route.abort();
    },
  );
  await openLab(page);
  await expect(page.locator('[data-testid="dataset-row"][data-name="Demo · validation"]')).toBeVisible({
    timeout: 180_000,
  });
  await page.getByTestId('tab-train').click();
  // The form is ready once the demo CLIP is the backbone and its preset's proposal has landed.
  await expect(page.getByTestId('train-backbone')).toContainText(DEMO_CLIP, { timeout: 120_000 });
  await expect(page.getByTestId('train-preset-size')).toContainText('M parameters');
  await expect(page.getByTestId('dearli-dewa-iterations')).not.toHaveValue('0');
  expect(local).toContain('/demo-clip/demo-clip.safetensors');
  await expect(page.getByTestId('guide-step-models')).toContainText(`${DEMO_CLIP} loaded`);
  await page.getByTestId('train-iterations').fill('3');
  await page.getByTestId('dearli-dewa-iterations').fill('1');
  await page.getByTestId('train-eval-every').fill('3');
  await page.getByTestId('train-eval-images').fill('1');
  await page.getByTestId('train-batch').fill('1');
  await page.getByTestId('dearli-run').click();

  // The whole pipeline names its step; pause once Mean Teacher has trained an iteration.
  const dearli = page.getByTestId('dearli-status');
  await expect(dearli).toHaveAttribute('data-step', /masks|dewa|meanTeacher/, { timeout: 900_000 });
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
  // The demo CLIP is back (from the cache) before the run resumes on it.
  await expect(page.getByTestId('train-backbone')).toContainText(DEMO_CLIP, { timeout: 120_000 });
  await page.getByTestId('dearli-resume').click();
  await expect(page.getByTestId('dearli-status')).toHaveAttribute('data-status', /finished|failed/, {
    timeout: 600_000,
  });
  const messages = await page.getByTestId('train-messages').allTextContents();
  expect(await page.getByTestId('dearli-status').getAttribute('data-status'), messages.join(' | ')).toBe('finished');
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-iteration', '3');
  await expect(page.getByTestId('mt-student-chart')).toHaveAttribute('data-points', '1');
  await expect(page.getByTestId('mt-teacher-chart')).toHaveAttribute('data-points', '1');
  // The teacher's pseudo-label segments per image, one point per iteration, kept across the reload.
  await expect(page.getByTestId('mt-pseudo-segments-chart')).toHaveAttribute('data-points', '3');
  await expect(page.getByTestId('mt-pseudo-segments')).toContainText('segments per image over the last 3 iterations');

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

  // Compare the run's DeWa and Mean Teacher runs: one row each; Mean Teacher's curve has its one validation.
  const rows = page.getByTestId('run-row');
  await expect(rows).toHaveCount(2);
  // DeWa validates by mask recall: its row shows AR where a Mean Teacher row shows PQ.
  await expect(rows.filter({ hasText: 'DeWa' })).toContainText('AR ');
  await rows.nth(0).getByTestId('run-compare').check();
  await rows.nth(1).getByTestId('run-compare').check();
  await expect(page.getByTestId('compare-row')).toHaveCount(2);
  await expect(page.getByTestId('compare-chart')).toHaveAttribute('data-points', '1');
  await expect(page.getByTestId('compare-table')).toContainText('Mean Teacher');
  await expect(page.getByTestId('compare-table')).toContainText('not validated');
  expect(outside).toEqual([]);
  await page.screenshot({ path: 'test-results/mean-teacher.png', fullPage: true });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { polyLearningRate, DEFAULT_OPTIMIZER } from './optim';

beforeAll(async () => {
  await setupTestBackend();
});

describe('optimizer schedule', () => {
  it('poly schedule', () => {
    const cfg = { ...DEFAULT_OPTIMIZER, maxIterations: 100 };
    expect(polyLearningRate(cfg, 0)).toBe(1e-4);
    expect(polyLearningRate(cfg, 50)).toBeCloseTo(1e-4 * 0.5 ** 0.9, 12);
  });
});

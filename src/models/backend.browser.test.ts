import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend';

describe('tfjs in Chromium', () => {
  it('runs on WebGPU and reports its adapter and limits', async () => {
    const info = await initBackend();
    expect(info.name).toBe('webgpu');
    expect(info.limits?.maxStorageBufferBindingSize).toBeGreaterThan(0);
    const y = tf.matMul(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      tf.tensor2d([[5], [6]]),
    );
    expect(Array.from(await y.data())).toEqual([17, 39]);
    y.dispose();
  });
});

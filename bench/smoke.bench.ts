import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import type { BrowserBenchmark } from './types';

/** Harness check: one 512x512 matmul timed on the backend the lab picks. */
export const runBenchmark: BrowserBenchmark = async (log) => {
  const info = await initBackend();
  log(`backend ${info.name}`);
  const a = tf.randomNormal([512, 512]);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const y = tf.matMul(a, a);
    await y.data();
    y.dispose();
    times.push(performance.now() - t0);
  }
  a.dispose();
  const best = Math.min(...times);
  return {
    title: 'matmul 512x512 (harness check)',
    columns: ['backend', 'best ms', 'GFLOP/s'],
    rows: [[info.name, best, (2 * 512 ** 3) / best / 1e6]],
    figures: { backend: info, timesMs: times },
  };
};

/** Parity and training tests run on tfjs cpu in Node and on WebGPU in Chromium (never a silent fallback). */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../src/models/backend';
import { IN_BROWSER } from './fixtures';

export async function setupTestBackend(): Promise<BackendInfo> {
  if (IN_BROWSER) {
    const info = await initBackend(['webgpu']);
    if (info.name !== 'webgpu') throw new Error(`expected WebGPU in Chromium, got ${info.name}`);
    return info;
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', fallbackReasons: [] };
}

/** Shader keys the WebGPU backend has compiled: shows which program a kernel ran. */
export function compiledShaderKeys(): string[] {
  return Object.keys((tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache);
}

/** max |actual − expected| / max(1, |expected|): relative for large values, absolute near zero. */
export function worstRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  return worst;
}

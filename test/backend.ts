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

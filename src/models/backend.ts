/**
 * tfjs backend selection, in the one order the lab uses everywhere: WebGPU, then WebGL, WASM, CPU.
 * On WebGPU an uncaptured-error handler turns silent validation failures (over-limit bindings
 * return zeros) into loud errors.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import './ops/webgpuKernels';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** GPU adapter description where the backend has one. */
  adapter?: { vendor: string; architecture: string; description: string; device: string };
  limits?: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  /** Why the preferred backends were not taken. */
  fallbackReasons: string[];
}

/** The first GPU validation error seen on the device; checked after steps by callers that care. */
let gpuError: string | null = null;

export function takeGpuError(): string | null {
  const e = gpuError;
  gpuError = null;
  return e;
}

export async function initBackend(preferred: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu']): Promise<BackendInfo> {
  const fallbackReasons: string[] = [];
  for (const name of preferred) {
    if (!tf.findBackend(name) && !tf.engine().registryFactory[name]) {
      fallbackReasons.push(`${name}: not registered in this build`);
      continue;
    }
    try {
      const ok = await tf.setBackend(name);
      if (!ok) {
        fallbackReasons.push(`${name}: initialisation failed`);
        continue;
      }
      await tf.ready();
      return { name, ...(name === 'webgpu' ? webgpuDetails() : {}), fallbackReasons };
    } catch (e) {
      fallbackReasons.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no tfjs backend could start: ${fallbackReasons.join('; ')}`);
}

function webgpuDetails(): Pick<BackendInfo, 'adapter' | 'limits'> {
  const backend = tf.backend() as unknown as { device: GPUDevice; adapterInfo?: GPUAdapterInfo };
  const device = backend.device;
  device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
    gpuError ??= ev.error.message;
    console.error('WebGPU validation error:', ev.error.message);
  };
  const info = backend.adapterInfo ?? (device as unknown as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return {
    adapter: info
      ? { vendor: info.vendor, architecture: info.architecture, description: info.description, device: info.device }
      : undefined,
    limits: {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
    },
  };
}

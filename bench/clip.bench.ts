/**
 * CLIP image tower (ConvNeXt trunk + head, random weights) forward time and GPU memory per input size.
 * Query string (`npm run bench:clip -- 'sizes=224,320&repeats=3'`):
 *   model    preset name (default convnext_base_w_320)
 *   sizes    comma-separated square input sides, multiples of 32 (default 224,320,640 on a GPU,
 *            64 on SwiftShader, whose matmuls run at ~50 MFLOP/s on a loaded 2-core machine: one
 *            224 px ConvNeXt-B forward, 31 GFLOP, takes about ten minutes there)
 *   batch    images per forward (default 1)
 *   warmup   untimed forwards per size (default 1; the first one compiles the shaders)
 *   repeats  timed forwards per size (default 1)
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import { CLIP_PRESETS, type ClipConfig } from '../src/models/clip/config';
import { createRandomClipModel } from '../src/models/clip/weights';
import type { BrowserBenchmark } from './types';

/** tf.memory() on WebGPU adds the bytes held by tensors and the bytes in the buffer pool (never freed). */
interface GpuMemory {
  numBytesInGPU?: number;
  numBytesAllocatedInGPU?: number;
}

const MB = 1024 * 1024;

/** Multiply-accumulates of one image-tower forward (convs and matmuls; 31.33 G for ConvNeXt-B at 320 px, as onnx-bench counts). */
function imageTowerMacs(config: ClipConfig, size: number): number {
  const { dims, depths, stemPatch, kernelSize, mlpRatio } = config.trunk;
  let macs = (size / stemPatch) ** 2 * 3 * stemPatch ** 2 * dims[0];
  dims.forEach((c, s) => {
    const pixels = (size / (stemPatch * 2 ** s)) ** 2;
    if (s > 0) macs += pixels * 4 * dims[s - 1] * c;
    macs += depths[s] * pixels * (kernelSize ** 2 * c + 2 * mlpRatio * c * c);
  });
  const features = dims[dims.length - 1];
  return macs + (config.projection.kind === 'linear' ? features * config.embedDim : features * 2 * config.embedDim + 2 * config.embedDim ** 2);
}

function param(name: string, fallback: string): string {
  return new URLSearchParams(location.search).get(name) ?? fallback;
}

export const runBenchmark: BrowserBenchmark = async (log) => {
  const presetName = param('model', 'convnext_base_w_320');
  const config = CLIP_PRESETS[presetName];
  if (!config) throw new Error(`unknown model ${presetName} (known: ${Object.keys(CLIP_PRESETS).join(', ')})`);
  const info = await initBackend();
  const software = info.adapter?.architecture === 'swiftshader' || /swiftshader/i.test(info.adapter?.description ?? '');
  const sizes = param('sizes', software ? '64' : '224,320,640').split(',').map(Number);
  const batch = Number(param('batch', '1'));
  const warmup = Number(param('warmup', '1'));
  const repeats = Number(param('repeats', '1'));
  log(`backend ${info.name}${info.adapter ? ` (${info.adapter.vendor} ${info.adapter.architecture} ${info.adapter.description})` : ''}`);
  const tLoad = performance.now();
  const model = await createRandomClipModel(config, 1, 'image');
  const loadMs = performance.now() - tLoad;
  const weightBytes = tf.memory().numBytes;
  log(`${presetName} image tower: ${(weightBytes / MB).toFixed(1)} MB of weights, random init + upload ${loadMs.toFixed(0)} ms`);

  const rows: (string | number)[][] = [];
  const perSize: Record<string, unknown>[] = [];
  for (const size of sizes) {
    const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', size) as tf.Tensor4D;
    const forward = async () => {
      const t0 = performance.now();
      const embeds = model.encodeImage(x);
      await embeds.data();
      embeds.dispose();
      return performance.now() - t0;
    };
    const warmupMs: number[] = [];
    for (let i = 0; i < warmup; i++) warmupMs.push(await forward());
    const timesMs: number[] = [];
    for (let i = 0; i < repeats; i++) timesMs.push(await forward());
    x.dispose();
    const best = Math.min(...timesMs);
    const mem = tf.memory() as tf.MemoryInfo & GpuMemory;
    const inUseMB = (mem.numBytesInGPU ?? mem.numBytes) / MB;
    const poolMB = (mem.numBytesAllocatedInGPU ?? Number.NaN) / MB;
    log(`${size} px: best ${best.toFixed(0)} ms per batch of ${batch} (warm-up ${warmupMs.map((t) => t.toFixed(0)).join(', ')} ms)`);
    const gmacs = imageTowerMacs(config, size) / 1e9;
    rows.push([size, batch, best / batch, (1000 * batch) / best, (2 * gmacs * batch) / (best / 1000), inUseMB, poolMB]);
    perSize.push({ size, batch, gmacsPerImage: gmacs, warmupMs, timesMs, memory: mem });
  }
  model.dispose();

  return {
    title: `CLIP ${presetName} image tower forward (random weights, ${info.name})`,
    columns: ['size px', 'batch', 'ms/image', 'images/s', 'GFLOP/s', 'GPU MB in use', 'GPU MB pool'],
    rows,
    figures: { backend: info, model: presetName, config, weightBytes, loadMs, warmup, repeats, perSize },
    notes: [
      'ms/image = best timed forward / batch, including the readback of the embeddings',
      'GFLOP/s = 2 x conv/matmul MACs (no elementwise ops) / best time',
      'GPU MB pool = tfjs-webgpu buffer pool after the size ran (buffers are reused, never freed): about the peak so far',
    ],
  };
};

/**
 * onnxruntime-web (WebGPU EP) side of the CLIP and SAM benchmarks: runs the weight-free ONNX graphs
 * of `$DEARLI_ONNX_BENCH` (default test/fixtures/onnx-bench; scripts/bench.mjs serves them at
 * /onnx-bench/) with random weights uploaded once into GPU buffers on ORT's own GPUDevice, as the
 * onnx-bench README prescribes. Bench-only: nothing under src/ imports this.
 *
 * Also a GPU-memory tracker: it wraps GPUDevice.createBuffer / GPUBuffer.destroy so that both
 * devices in the page (tfjs-webgpu's and ORT's) report the bytes of the buffers they hold.
 */
import type * as OrtTypes from 'onnxruntime-web/webgpu';
// The wasm that ORT-web 1.30's WebGPU build loads (the native WebGPU EP, asyncify build). Vite serves it
// from node_modules; setting wasmPaths keeps it working whether or not Vite pre-bundles the package.
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

type Ort = typeof OrtTypes;

const MiB = 2 ** 20;

// ---------------------------------------------------------------------------------------------
// GPU memory held per device

interface DeviceMemory {
  liveBytes: number;
  peakBytes: number;
  buffers: number;
}

const deviceMemory = new WeakMap<GPUDevice, DeviceMemory>();
const bufferInfo = new WeakMap<GPUBuffer, { device: GPUDevice; size: number }>();
let trackerInstalled = false;

/** Wraps createBuffer/destroy once per page; buffers created before this call are not counted. */
export function installGpuMemoryTracker(): void {
  if (trackerInstalled || typeof GPUDevice === 'undefined') return;
  trackerInstalled = true;
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = create.call(this, descriptor);
    const m = memoryOf(this);
    m.liveBytes += descriptor.size;
    m.buffers++;
    m.peakBytes = Math.max(m.peakBytes, m.liveBytes);
    bufferInfo.set(buffer, { device: this, size: descriptor.size });
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function (this: GPUBuffer): undefined {
    const info = bufferInfo.get(this);
    if (info) {
      bufferInfo.delete(this);
      const m = memoryOf(info.device);
      m.liveBytes -= info.size;
      m.buffers--;
    }
    return destroy.call(this);
  };
}

function memoryOf(device: GPUDevice): DeviceMemory {
  let m = deviceMemory.get(device);
  if (!m) deviceMemory.set(device, (m = { liveBytes: 0, peakBytes: 0, buffers: 0 }));
  return m;
}

/** Bytes held by live buffers of `device` (in MiB), and the peak since the last reset. */
export function gpuMemoryMiB(device: GPUDevice): { liveMiB: number; peakMiB: number; buffers: number } {
  const m = memoryOf(device);
  return { liveMiB: m.liveBytes / MiB, peakMiB: m.peakBytes / MiB, buffers: m.buffers };
}

export function resetGpuPeak(device: GPUDevice): void {
  const m = memoryOf(device);
  m.peakBytes = m.liveBytes;
}

// ---------------------------------------------------------------------------------------------
// timing

export interface Timing {
  warmupMs: number[];
  timesMs: number[];
  bestMs: number;
  medianMs: number;
}

/** `warmup` untimed runs then `repeats` timed ones; `run` returns the ms it measured itself. */
export async function timeRuns(warmup: number, repeats: number, run: () => Promise<number>): Promise<Timing> {
  const warmupMs: number[] = [];
  for (let i = 0; i < warmup; i++) warmupMs.push(await run());
  const timesMs: number[] = [];
  for (let i = 0; i < Math.max(1, repeats); i++) timesMs.push(await run());
  const sorted = [...timesMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { warmupMs, timesMs, bestMs: sorted[0], medianMs };
}

// ---------------------------------------------------------------------------------------------
// random values (seeded; only finite and sane, for timing)

function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function fillNormal(
  out: Float32Array<ArrayBuffer>,
  mean: number,
  std: number,
  next: () => number,
): Float32Array<ArrayBuffer> {
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())) * std;
    const t = 2 * Math.PI * next();
    out[i] = mean + r * Math.cos(t);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(t);
  }
  return out;
}

export interface GraphInput {
  name: string;
  shape: number[];
  dtype: string;
  kind: 'data' | 'weight';
}

/** The onnx-bench README's init: conv/linear N(0, 1/fan_in), biases N(0, 0.05²), norms 1 + N(0, 0.1²), LayerScale U(0.1, 0.4), positional tables N(0, 0.05²), embeddings N(0, 1). */
export function randomWeight(input: GraphInput, seed: number): Float32Array<ArrayBuffer> {
  const n = input.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const next = rng(seed);
  const name = input.name;
  if (/point_embeddings|not_a_point_embed|no_mask_embed|iou_token|mask_tokens|gaussian_matrix/.test(name))
    return fillNormal(out, 0, 1, next);
  if (/gamma$/.test(name)) {
    for (let i = 0; i < n; i++) out[i] = 0.1 + 0.3 * next();
    return out;
  }
  if (/pos_embed|rel_pos/.test(name)) return fillNormal(out, 0, 0.05, next);
  if (/bias$/.test(name)) return fillNormal(out, 0, 0.05, next);
  if (input.shape.length >= 2) {
    const fanIn = input.shape.slice(1).reduce((a, b) => a * b, 1);
    return fillNormal(out, 0, 1 / Math.sqrt(fanIn), next);
  }
  if (/weight$/.test(name)) return fillNormal(out, 1, 0.1, next);
  return fillNormal(out, 0, 0.05, next);
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-web

let ortModule: Promise<Ort> | null = null;

/** Loads onnxruntime-web/webgpu lazily (the CLIP/SAM benches without ort=1 never fetch it). */
export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-web/webgpu').then((ort) => {
    ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, location.href).href };
    // no cross-origin isolation on the bench page: one wasm thread (the kernels run on WebGPU anyway)
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'warning';
    return ort as Ort;
  });
  return ortModule;
}

export interface GraphMeta {
  name: string;
  inputs: GraphInput[];
  outputs: { name: string; shape: number[] }[];
  parameter_count: number;
  weight_bytes_float32: number;
  flops?: { macs?: number; gflops?: number } & Record<string, unknown>;
  largest_intermediate_tensor?: { bytes: number; shape: number[]; aten_op?: string };
}

export const ONNX_BENCH_URL = '/onnx-bench/';

export async function fetchGraphMeta(graph: string): Promise<GraphMeta> {
  const res = await fetch(`${ONNX_BENCH_URL}${graph}.json`);
  if (!res.ok) throw new Error(`onnx-bench graph ${graph}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as GraphMeta;
}

export interface OrtGraphResult {
  graph: string;
  /** Set when the graph did not run (limits, missing file, error): the table shows it instead of a time. */
  skipped?: string;
  timing?: Timing;
  createMs?: number;
  uploadMs?: number;
  weightMiB?: number;
  /** Buffers held on ORT's device after the timed runs, and their peak during them (MiB). */
  gpuLiveMiB?: number;
  gpuPeakMiB?: number;
  deviceLimits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  outputCheck?: Record<string, { min: number; max: number; finite: boolean; allZero: boolean }>;
  gpuErrors?: string[];
}

export interface OrtRunOptions {
  warmup: number;
  repeats: number;
  log: (line: string) => void;
  /** Data inputs by name (else random: N(0,1) for images/embeddings, see below for points). */
  data?: Record<string, Float32Array<ArrayBuffer>>;
  /** Run even when the largest intermediate exceeds the device's binding limits. */
  force?: boolean;
}

/**
 * Creates the session, uploads random weights and the data inputs once as GPU buffers, then times
 * session.run + the readback of every output (getData), `warmup` untimed runs first.
 */
export async function runOrtGraph(graph: string, opts: OrtRunOptions): Promise<OrtGraphResult> {
  const { log } = opts;
  const result: OrtGraphResult = { graph };
  let meta: GraphMeta;
  try {
    meta = await fetchGraphMeta(graph);
  } catch (e) {
    result.skipped = `graph missing: ${(e as Error).message}`;
    log(`ORT ${graph}: ${result.skipped}`);
    return result;
  }
  const ort = await loadOrt();
  let session: OrtTypes.InferenceSession | null = null;
  const buffers: GPUBuffer[] = [];
  const gpuErrors: string[] = [];
  let device: GPUDevice | null = null;
  const onError = (ev: Event) => {
    const msg = (ev as GPUUncapturedErrorEvent).error?.message ?? String(ev);
    if (gpuErrors.length < 10) gpuErrors.push(msg);
    console.error(`ORT WebGPU error: ${msg}`);
  };
  try {
    const t0 = performance.now();
    session = await ort.InferenceSession.create(`${ONNX_BENCH_URL}${graph}.onnx`, {
      executionProviders: ['webgpu'],
      preferredOutputLocation: 'gpu-buffer',
    });
    result.createMs = performance.now() - t0;
    device = (await ort.env.webgpu.device) as GPUDevice;
    device.addEventListener('uncapturederror', onError);
    const limits = {
      maxBufferSize: device.limits.maxBufferSize,
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    };
    result.deviceLimits = limits;
    const largest = meta.largest_intermediate_tensor?.bytes ?? 0;
    const limit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
    if (largest > limit && !opts.force) {
      result.skipped = `needs a ${(largest / MiB).toFixed(0)} MiB buffer [${meta.largest_intermediate_tensor?.shape.join('x')}], ORT's device allows ${(limit / MiB).toFixed(0)} MiB (maxBufferSize ${(limits.maxBufferSize / MiB).toFixed(0)}, maxStorageBufferBindingSize ${(limits.maxStorageBufferBindingSize / MiB).toFixed(0)} MiB)`;
      log(`ORT ${graph}: skipped, ${result.skipped}`);
      return result;
    }

    const t1 = performance.now();
    const feeds: Record<string, OrtTypes.Tensor> = {};
    let weightBytes = 0;
    const upload = (data: Float32Array<ArrayBuffer>, dims: number[]) => {
      const buffer = device!.createBuffer({
        size: Math.ceil(data.byteLength / 16) * 16,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      device!.queue.writeBuffer(buffer, 0, data);
      buffers.push(buffer);
      return ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims });
    };
    meta.inputs.forEach((input, i) => {
      if (input.dtype !== 'float32')
        throw new Error(`${graph}: input ${input.name} is ${input.dtype}, only float32 is handled`);
      let data: Float32Array<ArrayBuffer>;
      if (input.kind === 'weight') {
        data = randomWeight(input, 1000 + i);
        weightBytes += data.byteLength;
      } else {
        data = opts.data?.[input.name] ?? randomData(input, 7 + i);
      }
      feeds[input.name] = upload(data, input.shape);
    });
    await device.queue.onSubmittedWorkDone();
    result.uploadMs = performance.now() - t1;
    result.weightMiB = weightBytes / MiB;
    log(
      `ORT ${graph}: session ${result.createMs.toFixed(0)} ms, ${meta.inputs.length} inputs (${result.weightMiB.toFixed(1)} MiB of weights) uploaded in ${result.uploadMs.toFixed(0)} ms; ORT device ${formatLimits(limits)}`,
    );

    resetGpuPeak(device);
    const outputNames = session.outputNames;
    const s = session;
    let last: Record<string, Float32Array> = {};
    const run = async () => {
      const start = performance.now();
      const out = await s.run(feeds);
      const read: Record<string, Float32Array> = {};
      for (const name of outputNames) read[name] = (await out[name].getData(true)) as Float32Array;
      const ms = performance.now() - start;
      for (const name of outputNames) out[name].dispose();
      last = read;
      log(`ORT ${graph}: run ${ms.toFixed(0)} ms`);
      return ms;
    };
    result.timing = await timeRuns(opts.warmup, opts.repeats, run);
    const mem = gpuMemoryMiB(device);
    result.gpuLiveMiB = mem.liveMiB;
    result.gpuPeakMiB = mem.peakMiB;
    result.outputCheck = Object.fromEntries(Object.entries(last).map(([name, v]) => [name, summarize(v)]));
    const bad = Object.entries(result.outputCheck).filter(([, c]) => !c.finite || c.allZero);
    if (gpuErrors.length) result.gpuErrors = gpuErrors;
    if (bad.length || gpuErrors.length) {
      result.skipped = `invalid result: ${bad.map(([n, c]) => `${n} ${c.finite ? 'all zero' : 'non-finite'}`).join(', ')}${gpuErrors.length ? ` WebGPU error: ${gpuErrors[0].slice(0, 160)}` : ''}`;
      log(`ORT ${graph}: ${result.skipped}`);
    }
    return result;
  } catch (e) {
    result.skipped = `error: ${((e as Error).message ?? String(e)).split('\n')[0].slice(0, 240)}`;
    if (gpuErrors.length) result.gpuErrors = gpuErrors;
    log(`ORT ${graph}: ${result.skipped}`);
    return result;
  } finally {
    for (const b of buffers) b.destroy();
    await session?.release().catch(() => undefined);
    device?.removeEventListener('uncapturederror', onError);
  }
}

/** Data inputs: images and embeddings N(0, 1); SAM point coords uniform in the 1024 frame's 4:3 part; labels 1 (one foreground point per prompt, as our bench's decoder runs). */
function randomData(input: GraphInput, seed: number): Float32Array<ArrayBuffer> {
  const n = input.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const next = rng(seed);
  if (input.name === 'point_labels') return out.fill(1);
  if (input.name === 'point_coords') {
    for (let i = 0; i < n; i++) out[i] = next() * 768;
    return out;
  }
  return fillNormal(out, 0, 1, next);
}

function summarize(v: Float32Array): { min: number; max: number; finite: boolean; allZero: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let finite = true;
  let allZero = true;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) finite = false;
    else {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    if (x !== 0) allZero = false;
  }
  return { min, max, finite, allZero };
}

/** The adapter's buffer limits as Chromium reports them (a separate requestAdapter; nothing is created). */
export async function adapterLimits(): Promise<Record<string, number | string> | null> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return null;
  return {
    description:
      `${adapter.info?.vendor ?? ''} ${adapter.info?.architecture ?? ''} ${adapter.info?.description ?? ''}`.trim(),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
  };
}

export function formatLimits(
  l: { maxBufferSize: number; maxStorageBufferBindingSize: number } | null | undefined,
): string {
  if (!l) return 'n/a';
  return `maxBufferSize ${(l.maxBufferSize / MiB).toFixed(0)} MiB, maxStorageBufferBindingSize ${(l.maxStorageBufferBindingSize / MiB).toFixed(0)} MiB`;
}

/** ORT ms / ours ms, or the reason there is no ratio. */
export function ratio(ortMs: number | undefined, oursMs: number | undefined): number | string {
  if (ortMs === undefined || oursMs === undefined || !Number.isFinite(ortMs) || !Number.isFinite(oursMs)) return '';
  return ortMs / oursMs;
}

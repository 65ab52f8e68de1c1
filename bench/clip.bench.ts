/**
 * CLIP image tower (ConvNeXt trunk + head, random weights) forward time and GPU memory per input size,
 * and the same shapes on onnxruntime-web (WebGPU EP) over the onnx-bench graphs, in the same page.
 * Query string (`npm run bench:clip -- 'sizes=224,320,640&ort=1'`):
 *   model      preset name (default convnext_base_w_320)
 *   sizes      comma-separated square input sides, multiples of 32 (default 224,320,640 on a GPU,
 *              64 on SwiftShader, whose kernels run at ~0.1-0.4 GFLOP/s on a 2-core machine: one
 *              320 px ConvNeXt-B forward, 63 GFLOP, takes minutes there; ask for the real sizes explicitly)
 *   batch      images per forward (default 1; the ORT graphs are batch 1 and run only with batch=1)
 *   warmup     untimed forwards per size and path, ours and ORT (default 1; the first one compiles the shaders)
 *   repeats    timed forwards per size and path (default 1); the table shows the median, the JSON every time
 *   ort        1 = also run onnxruntime-web on the onnx-bench graphs (default 0). Graphs exist for
 *              320 (trunk `dense_320`, tower `embed_320`) and 640 (trunk `dense_640`); other sizes: ours only
 *   trunk      1 = also time our trunk alone (`trunk.forwardDense`, res5) to compare with the dense graphs
 *              (default: 1 with ort=1)
 *   trunkWarmup  warm-up runs of our trunk path (default 0 when the tower path had a warm-up: it runs the
 *              same kernels on the same input right after it, so its shaders are compiled already)
 *   ours       0 = skip our forwards (ORT rows only; default 1)
 *   unfused    1 = also time our tower with ConvNeXt blocks composed of separate passes instead of the
 *              fused kernels of src/models/ops/convNextKernels.ts and pointwiseKernels.ts (default 1; row
 *              "tower, blocks unfused")
 *   ortWarmup, ortRepeats   override warmup/repeats for ORT
 *   ortForce   1 = run an ORT graph even when its largest tensor exceeds the device's buffer limits
 *   out        SUFFIX: scripts/bench.mjs writes bench-results/clip.SUFFIX.json instead of clip.json
 *   limit      seconds one measurement (ours or ORT, warm-up and repeats together) may take (default: no
 *              limit): past it the cell reads "> N s" and the benchmark goes on (bench/liveReport.ts)
 * Timed: ours = forward + readback of the output (`data()`); ORT = session.run + readback (`getData()`),
 * weights uploaded once as GPU buffers (bench/ort.ts). Ratio = ORT ms / ours ms (> 1: ours is faster).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import { ClipModel } from '../src/models/clip/clip';
import { CLIP_PRESETS, type ClipConfig } from '../src/models/clip/config';
import {
  adapterLimits,
  formatLimits,
  gpuMemoryMiB,
  installGpuMemoryTracker,
  ratio,
  resetGpuPeak,
  runOrtGraph,
  timeRuns,
  type OrtGraphResult,
  type Timing,
} from './ort';
import { LiveReport } from './liveReport';
import type { BrowserBenchmark } from './types';

/** tf.memory() on WebGPU adds the bytes held by tensors and the bytes in the buffer pool (never freed). */
interface GpuMemory {
  numBytesInGPU?: number;
  numBytesAllocatedInGPU?: number;
}

const MB = 1024 * 1024;

/** The onnx-bench graphs of the ConvNeXt-B (convnext_base_w) image tower, by input side. */
const ORT_GRAPHS: Record<number, { trunk?: string; tower?: string }> = {
  320: { trunk: 'clip_convnext_base_w_dense_320', tower: 'clip_convnext_base_w_embed_320' },
  640: { trunk: 'clip_convnext_base_w_dense_640' },
};

/** Multiply-accumulates of the trunk (convs and matmuls; 31.33 G for ConvNeXt-B at 320 px, as onnx-bench counts). */
function trunkMacs(config: ClipConfig, size: number): number {
  const { dims, depths, stemPatch, kernelSize, mlpRatio } = config.trunk;
  let macs = (size / stemPatch) ** 2 * 3 * stemPatch ** 2 * dims[0];
  dims.forEach((c, s) => {
    const pixels = (size / (stemPatch * 2 ** s)) ** 2;
    if (s > 0) macs += pixels * 4 * dims[s - 1] * c;
    macs += depths[s] * pixels * (kernelSize ** 2 * c + 2 * mlpRatio * c * c);
  });
  return macs;
}

/** Trunk + head. */
function imageTowerMacs(config: ClipConfig, size: number): number {
  const features = config.trunk.dims[config.trunk.dims.length - 1];
  return (
    trunkMacs(config, size) +
    (config.projection.kind === 'linear'
      ? features * config.embedDim
      : features * 2 * config.embedDim + 2 * config.embedDim ** 2)
  );
}

function param(name: string, fallback: string): string {
  return new URLSearchParams(location.search).get(name) ?? fallback;
}

export const runBenchmark: BrowserBenchmark = async (log) => {
  installGpuMemoryTracker();
  const presetName = param('model', 'convnext_base_w_320');
  const config = CLIP_PRESETS[presetName];
  if (!config) throw new Error(`unknown model ${presetName} (known: ${Object.keys(CLIP_PRESETS).join(', ')})`);
  const info = await initBackend();
  const software = info.adapter?.architecture === 'swiftshader' || /swiftshader/i.test(info.adapter?.description ?? '');
  const sizes = param('sizes', software ? '64' : '224,320,640')
    .split(',')
    .map(Number);
  const batch = Number(param('batch', '1'));
  const warmup = Number(param('warmup', '1'));
  const repeats = Number(param('repeats', '1'));
  const ort = param('ort', '0') === '1';
  const withTrunk = param('trunk', ort ? '1' : '0') === '1';
  const withOurs = param('ours', '1') !== '0';
  const withUnfused = param('unfused', '1') === '1';
  const trunkWarmupParam = new URLSearchParams(location.search).get('trunkWarmup');
  const trunkWarmup = trunkWarmupParam === null ? undefined : Number(trunkWarmupParam);
  const ortWarmup = Number(param('ortWarmup', String(warmup)));
  const ortRepeats = Number(param('ortRepeats', String(repeats)));
  const ortForce = param('ortForce', '0') === '1';
  const limitS = Number(param('limit', 'Infinity'));
  // the onnx-bench graphs are the convnext_base_w tower (convnext_base trunk, 640-d projection)
  const ortShapeOk =
    config.trunk.dims.join() === '128,256,512,1024' &&
    config.trunk.depths.join() === '3,3,27,3' &&
    config.embedDim === 640;

  const adapter = await adapterLimits();
  log(
    `backend ${info.name}${info.adapter ? ` (${info.adapter.vendor} ${info.adapter.architecture} ${info.adapter.description})` : ''}`,
  );
  log(`adapter limits: ${formatLimits(adapter as never)}; tfjs device: ${formatLimits(info.limits)}`);
  log(`warm-up ${warmup}, repeats ${repeats}${ort ? `; ORT warm-up ${ortWarmup}, repeats ${ortRepeats}` : ''}`);
  const tfDevice = (tf.backend() as unknown as { device?: GPUDevice }).device;
  const tLoad = performance.now();
  const model = withOurs ? await ClipModel.random(config, 1, 'image') : null;
  const loadMs = performance.now() - tLoad;
  const weightBytes = tf.memory().numBytes;
  if (model)
    log(
      `${presetName} image tower: ${(weightBytes / MB).toFixed(1)} MB of weights, random init + upload ${loadMs.toFixed(0)} ms`,
    );

  const live = new LiveReport(
    `CLIP ${presetName} image tower forward (random weights, ${info.name}${software ? ' on SwiftShader' : ''}): ours (tfjs) vs onnxruntime-web`,
    [
      'size px',
      'path',
      'ours ms/img',
      'ours img/s',
      'ours GFLOP/s',
      'ORT ms/img',
      'ORT img/s',
      'ORT/ours',
      'ours GPU MiB',
      'ORT GPU MiB',
    ],
  );
  const perSize: Record<string, unknown>[] = [];
  Object.assign(live.figures, {
    backend: info,
    adapterLimits: adapter,
    model: presetName,
    config,
    weightBytes,
    loadMs,
    warmup,
    repeats,
    trunkWarmup: trunkWarmup ?? (warmup > 0 ? 0 : warmup),
    ortWarmup,
    ortRepeats,
    perSize,
  });
  for (const size of sizes) {
    const gmacsTower = imageTowerMacs(config, size) / 1e9;
    const gmacsTrunk = trunkMacs(config, size) / 1e9;
    let tower: Timing | undefined;
    let trunk: Timing | undefined;
    let unfused: Timing | undefined;
    // Rows exist before their figures, so a run stopped midway keeps the cells measured so far.
    const towerRow = live.row([size, 'tower', '', '', '', '', '', '', '', '']);
    const trunkRow = withTrunk || ort ? live.row([size, 'trunk', '', '', '', '', '', '', '', '']) : null;
    const unfusedRow =
      withUnfused && model ? live.row([size, 'tower, blocks unfused', '', '', '', '', '', '', '', '']) : null;
    let mem: (tf.MemoryInfo & GpuMemory) | undefined;
    let tfPeakMiB: number | undefined;
    if (model) {
      const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', size) as tf.Tensor4D;
      if (tfDevice) resetGpuPeak(tfDevice);
      const timedForward = (what: string, f: () => tf.Tensor) => async () => {
        const t0 = performance.now();
        const y = f();
        await y.data();
        y.dispose();
        const ms = performance.now() - t0;
        log(`ours ${size} px ${what}: ${ms.toFixed(0)} ms`);
        return ms;
      };
      tower = await live.measure(
        towerRow,
        2,
        () =>
          timeRuns(
            warmup,
            repeats,
            timedForward('tower', () => model.encodeImage(x)),
          ),
        limitS,
      );
      // the trunk runs the tower's kernels on the same input: the tower's warm-up already compiled them
      if (withTrunk && trunkRow)
        trunk = await live.measure(
          trunkRow,
          2,
          () =>
            timeRuns(
              trunkWarmup ?? (warmup > 0 ? 0 : warmup),
              repeats,
              timedForward('trunk', () => model.trunk.forwardDense(x)),
            ),
          limitS,
        );
      if (unfusedRow) {
        model.trunk.fusedBlocks = false;
        unfused = await live.measure(
          unfusedRow,
          2,
          () =>
            timeRuns(
              warmup,
              repeats,
              timedForward('tower, blocks unfused', () => model.encodeImage(x)),
            ),
          limitS,
        );
        model.trunk.fusedBlocks = true;
      }
      x.dispose();
      mem = tf.memory() as tf.MemoryInfo & GpuMemory;
      if (tfDevice) tfPeakMiB = gpuMemoryMiB(tfDevice).peakMiB;
    }
    const inUseMB = mem ? (mem.numBytesInGPU ?? mem.numBytes) / MB : undefined;
    const poolMB = mem ? (mem.numBytesAllocatedInGPU ?? Number.NaN) / MB : undefined;

    const ortResults: { trunk?: OrtGraphResult; tower?: OrtGraphResult } = {};
    const ortReason = (which: 'trunk' | 'tower'): string => {
      if (!ort) return 'ort=0';
      if (!ortShapeOk) return `no graph for ${presetName}`;
      if (batch !== 1) return 'graphs are batch 1';
      if (!ORT_GRAPHS[size]?.[which]) return `no ${which} graph at ${size}`;
      return '';
    };
    for (const which of ['trunk', 'tower'] as const) {
      if (ortReason(which)) continue;
      const row = which === 'tower' ? towerRow : trunkRow;
      const measure = () =>
        runOrtGraph(ORT_GRAPHS[size][which]!, { warmup: ortWarmup, repeats: ortRepeats, log, force: ortForce });
      ortResults[which] = row ? await live.measure(row, 5, measure, limitS) : await measure();
    }

    // Fills a row in place; a cell that ran past its limit keeps its "> N s".
    const fill = (
      cells: (string | number)[],
      path: string,
      ours: Timing | undefined,
      gmacs: number,
      ortRes: OrtGraphResult | undefined,
      reason: string,
      oursLabel = '',
    ) => {
      const oursMs = ours ? ours.medianMs / batch : undefined;
      const ortMs = ortRes?.timing && !ortRes.skipped ? ortRes.timing.medianMs : undefined;
      const keep = (cell: number, value: string | number) =>
        String(cells[cell]).startsWith('>') ? cells[cell] : value;
      cells.splice(
        0,
        cells.length,
        size,
        path + oursLabel,
        keep(2, oursMs ?? ''),
        oursMs ? 1000 / oursMs : '',
        oursMs ? (2 * gmacs) / (oursMs / 1000) : '',
        keep(5, ortMs ?? ortRes?.skipped ?? reason),
        ortMs ? 1000 / ortMs : '',
        ratio(ortMs, oursMs),
        poolMB ?? '',
        ortRes?.gpuPeakMiB ?? '',
      );
    };
    fill(towerRow, 'tower', tower, gmacsTower, ortResults.tower, ortReason('tower'));
    if (trunkRow && trunk) fill(trunkRow, 'trunk', trunk, gmacsTrunk, ortResults.trunk, ortReason('trunk'));
    else if (trunkRow && ortResults.trunk)
      fill(trunkRow, 'trunk', tower, gmacsTower, ortResults.trunk, '', ' (ORT) vs our tower');
    else if (trunkRow && !String(trunkRow[5]).startsWith('>'))
      live.state.rows.splice(live.state.rows.indexOf(trunkRow), 1);
    if (unfusedRow) fill(unfusedRow, 'tower, blocks unfused', unfused, gmacsTower, undefined, '');
    perSize.push({
      size,
      batch,
      gmacsPerImage: { tower: gmacsTower, trunk: gmacsTrunk },
      ours: model
        ? {
            tower,
            trunk,
            towerBlocksUnfused: unfused,
            memory: mem,
            gpuInUseMiB: inUseMB,
            gpuPoolMiB: poolMB,
            tfDevicePeakMiB: tfPeakMiB,
          }
        : null,
      ort: ortResults,
    });
  }
  model?.dispose();

  return live.report([
    `median of ${repeats} timed run(s) after ${warmup} warm-up run(s)${withTrunk ? ` (our trunk path: ${trunkWarmup ?? (warmup > 0 ? 0 : warmup)} warm-up, after the tower)` : ''}${ort ? `; ORT: ${ortRepeats} after ${ortWarmup} per graph` : ''}; times include the readback of the output`,
    'tower = trunk + global pool + LayerNorm + projection (ours encodeImage, ORT embed graph); trunk = res5 / last_hidden_state (ours trunk.forwardDense, ORT dense graph)',
    'blocks unfused = our tower with each ConvNeXt block as depthwise conv, LayerNorm, fc1, GELU, fc2, ×γ, + x (7 dispatches) instead of the fused dwconv+LayerNorm, fc1+GELU and fc2+layer-scale+residual kernels (3)',
    'ORT/ours = ORT ms / ours ms: above 1 ours is faster',
    'GFLOP/s = 2 x conv/matmul MACs (no elementwise ops) / time',
    'ours GPU MiB = tfjs-webgpu buffer pool after the size ran (buffers are reused, never freed): about the peak so far, weights included',
    "ORT GPU MiB = peak bytes of live GPU buffers on ORT's device during the timed runs (weights + activations + ORT's buffer cache)",
  ]);
};

/**
 * Faster kernels for tfjs's cpu backend (Node tests, the ablation, and the browser's last-resort
 * fallback), registered on the one `replaceKernel` registry:
 * - UnsortedSegmentSum: the stock kernel builds one mask per segment (O(segments · N)); as the
 *   gradient of every gather it took 60 of 63 s of a tiny-decoder training step.
 * - Slice, SplitV, GatherV2, Transpose, Tile: contiguous runs; reductions over axes that are not
 *   innermost permuted by the fast Transpose (cpuLayout.ts).
 * - BatchMatMul and _FusedMatMul (no activation): row-major operands, four output rows at a time
 *   (cpuMatMul.ts).
 * - Broadcasting Add, Sub, Multiply, RealDiv, Minimum, Maximum: collapsed strides (cpuBroadcast.ts).
 * - Conv2DBackpropFilter / DepthwiseConv2dNativeBackpropFilter: contiguous channel rows instead of
 *   TensorBuffer.get per product (ConvNeXt training in Node, the demo CLIP).
 * Only the cpu backend is touched.
 */
import * as tf from '@tensorflow/tfjs';
import { BROADCAST_OPS, broadcastBinaryCpu } from './cpuBroadcast';
import {
  type CpuBackendLike,
  type KernelArgs,
  gatherCpu,
  innerMostReduction,
  sliceCpu,
  splitVCpu,
  tileCpu,
  transposeCpu,
} from './cpuLayout';
import { batchMatMulCpu, fusedMatMulCpu } from './cpuMatMul';
import { replaceKernel } from './kernelRegistry';

function unsortedSegmentSumCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const cpu = backend as CpuBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const segmentIds = inputs.segmentIds as tf.TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const values = cpu.data.get(x.dataId).values;
  const ids = cpu.data.get(segmentIds.dataId).values;
  const n = ids.length;
  const inner = n === 0 ? 0 : values.length / n;
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const k = i * inner;
    for (let j = 0; j < inner; j++) out[o + j] += values[k + j];
  }
  return cpu.makeTensorInfo([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, out);
}

/**
 * Filter gradients of conv2d and depthwise conv2d (NHWC, dilation 1, channel multiplier 1): one pass
 * over the output positions with contiguous channel rows, float64 sums. The stock kernels walk
 * TensorBuffer.get per product; for ConvNeXt's patchify and 7×7 depthwise convs they were 40 % of a
 * training step.
 */
function convFilterGradient(
  x: Float32Array,
  dy: Float32Array,
  c: ReturnType<typeof tf.backend_util.computeConv2DInfo>,
  depthwise: boolean,
): Float32Array {
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
  } = c;
  const { top, left } = c.padInfo;
  const perTap = depthwise ? inChannels : inChannels * outChannels;
  const acc = new Float64Array(filterHeight * filterWidth * perTap);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < filterHeight; wR++) {
          const xR = yR * strideHeight - top + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = yC * strideWidth - left + wC;
            if (xC < 0 || xC >= inWidth) continue;
            const xBase = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const fBase = (wR * filterWidth + wC) * perTap;
            if (depthwise) {
              for (let d = 0; d < inChannels; d++) acc[fBase + d] += x[xBase + d] * dy[dyBase + d];
              continue;
            }
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xv = x[xBase + d1];
              if (xv === 0) continue;
              const o = fBase + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) acc[o + d2] += xv * dy[dyBase + d2];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

function convBackpropFilterCpu(depthwise: boolean, stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const cpu = args.backend as CpuBackendLike;
    const x = args.inputs.x as tf.TensorInfo;
    const dy = args.inputs.dy as tf.TensorInfo;
    const a = args.attrs as {
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number;
      dataFormat?: string;
      dilations?: [number, number] | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    const dilated = a.dilations !== undefined && [a.dilations].flat().some((d) => d !== 1);
    if (a.dataFormat === 'NCHW' || dilated || (depthwise && a.filterShape[3] !== 1) || x.dtype !== 'float32')
      return stock(args as never);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      depthwise,
    );
    const values = (t: tf.TensorInfo) => cpu.data.get(t.dataId).values as Float32Array;
    return cpu.makeTensorInfo(a.filterShape, 'float32', convFilterGradient(values(x), values(dy), info, depthwise));
  }) as unknown as tf.KernelFunc;
}

// Bool tensors are stored as Uint8Array on cpu; keep the stock kernels for them.
function unlessBool(fast: (args: never) => tf.TensorInfo | tf.TensorInfo[], stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap }) =>
    (args.inputs.x as tf.TensorInfo | undefined)?.dtype === 'bool'
      ? stock(args as never)
      : fast(args as never)) as unknown as tf.KernelFunc;
}

replaceKernel('UnsortedSegmentSum', 'cpu', () => unsortedSegmentSumCpu as unknown as tf.KernelFunc);
replaceKernel('Slice', 'cpu', (stock) => unlessBool(sliceCpu as never, stock));
replaceKernel('SplitV', 'cpu', (stock) => unlessBool(splitVCpu as never, stock));
replaceKernel('BatchMatMul', 'cpu', batchMatMulCpu);
replaceKernel('_FusedMatMul', 'cpu', fusedMatMulCpu);
replaceKernel('GatherV2', 'cpu', gatherCpu);
for (const name of BROADCAST_OPS) replaceKernel(name, 'cpu', (stock) => broadcastBinaryCpu(name, stock));
replaceKernel('Transpose', 'cpu', transposeCpu);
replaceKernel('Tile', 'cpu', tileCpu);
for (const name of ['Sum', 'Mean', 'Min', 'ArgMax', 'ArgMin'])
  replaceKernel(name, 'cpu', (stock) => innerMostReduction('axis', stock));
replaceKernel('Max', 'cpu', (stock) => innerMostReduction('reductionIndices', stock));
replaceKernel('Conv2DBackpropFilter', 'cpu', (stock) => convBackpropFilterCpu(false, stock));
replaceKernel('DepthwiseConv2dNativeBackpropFilter', 'cpu', (stock) => convBackpropFilterCpu(true, stock));

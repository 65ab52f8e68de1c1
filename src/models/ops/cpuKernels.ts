/**
 * Faster kernels for tfjs's cpu backend (Node tests, and the browser's last-resort fallback):
 * - UnsortedSegmentSum: the stock kernel builds one mask per segment (O(segments · N)); as the
 *   gradient of every gather it took 60 of 63 s of a tiny-decoder training step.
 * - Slice / SplitV: the stock kernels copy non-contiguous slices element by element through
 *   TensorBuffer index arithmetic (~7 µs per element here); these copy contiguous inner runs.
 * - BatchMatMul: the stock kernel reads B with a stride in its innermost loop; this one copies both
 *   operands to row-major [batch, M, K] · [batch, K, N] and runs contiguous row updates (ikj order,
 *   float64 row accumulators), or dot products over a transposed B when N is small.
 * - GatherV2 (batchDims 0): copies whole inner rows instead of single elements.
 * - Conv2DBackpropFilter / DepthwiseConv2dNativeBackpropFilter: contiguous channel rows instead of
 *   TensorBuffer.get per product (ConvNeXt training in Node, the demo CLIP).
 * - Add / Sub / Multiply / RealDiv with broadcasting: the stock kernels allocate index arrays for
 *   every output element; these walk collapsed strides and run contiguous rows in tight loops.
 * Only the cpu backend is touched.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './kernelRegistry';

interface CpuBackendLike {
  data: { get(id: unknown): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

function unsortedSegmentSumCpu({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
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

/** Copies the box [begin, begin+size) of a row-major array of `shape`. */
function sliceValues(
  values: ArrayLike<number> & { subarray?: unknown },
  shape: number[],
  begin: number[],
  size: number[],
  out: Float32Array | Int32Array,
): void {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  const inner = size[rank - 1];
  const outer = size.slice(0, -1).reduce((a, n) => a * n, 1);
  const src = values as Float32Array;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let o = 0; o < outer; o++) {
    let start = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) start += (begin[d] + idx[d]) * strides[d];
    out.set(src.subarray(start, start + inner), o * inner);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
}

function sliceCpu({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const cpu = backend as CpuBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const a = attrs as { begin: number | number[]; size: number | number[] };
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, a.begin, a.size);
  return sliceInfo(cpu, x, begin, size);
}

function sliceInfo(cpu: CpuBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const n = size.reduce((p, d) => p * d, 1);
  const out = x.dtype === 'int32' || x.dtype === 'bool' ? new Int32Array(n) : new Float32Array(n);
  if (n > 0) sliceValues(cpu.data.get(x.dataId).values as Float32Array, x.shape, begin, size, out);
  return cpu.makeTensorInfo(size, x.dtype, out);
}

function splitVCpu({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const cpu = backend as CpuBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const a = attrs as { numOrSizeSplits: number | number[]; axis: number };
  const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, a.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const size = x.shape.slice();
  return sizes.map((s) => {
    size[axis] = s;
    const info = sliceInfo(cpu, x, begin.slice(), size.slice());
    begin[axis] += s;
    return info;
  });
}

type Row = (
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
) => void;

const ROWS: Record<string, Row> = {
  Add: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] + b[ib + j * sb];
  },
  Sub: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] - b[ib + j * sb];
  },
  Multiply: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] * b[ib + j * sb];
  },
  RealDiv: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let j = 0; j < n; j++) out[o + j] = a[ia + j * sa] / b[ib + j * sb];
  },
};

/**
 * Element strides of `shape` read as the broadcast `outShape` (0 along broadcast axes), with
 * adjacent axes merged wherever both operands stay contiguous across them.
 */
function broadcastPlan(
  aShape: number[],
  bShape: number[],
  outShape: number[],
): { dims: number[]; sa: number[]; sb: number[] } {
  const r = outShape.length;
  const strides = (shape: number[]) => {
    const padded = [...new Array<number>(r - shape.length).fill(1), ...shape];
    const out = new Array<number>(r);
    let s = 1;
    for (let d = r - 1; d >= 0; d--) {
      out[d] = padded[d] === 1 && outShape[d] !== 1 ? 0 : s;
      s *= padded[d];
    }
    return out;
  };
  const a = strides(aShape);
  const b = strides(bShape);
  const dims: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < r; d++) {
    if (outShape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && sa[last] === a[d] * outShape[d] && sb[last] === b[d] * outShape[d]) {
      dims[last] *= outShape[d];
      sa[last] = a[d];
      sb[last] = b[d];
    } else {
      dims.push(outShape[d]);
      sa.push(a[d]);
      sb.push(b[d]);
    }
  }
  if (dims.length === 0) return { dims: [1], sa: [0], sb: [0] };
  return { dims, sa, sb };
}

function broadcastBinaryCpu(row: Row, stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || tf.util.arraysEqual(a.shape, b.shape))
      return stock(args as never);
    const cpu = args.backend as CpuBackendLike;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = new Float32Array(tf.util.sizeFromShape(outShape));
    const av = cpu.data.get(a.dataId).values as Float32Array;
    const bv = cpu.data.get(b.dataId).values as Float32Array;
    const { dims, sa, sb } = broadcastPlan(a.shape, b.shape, outShape);
    const inner = dims.length - 1;
    const n = dims[inner];
    const rows = out.length / n;
    const idx = new Array<number>(inner).fill(0);
    let ia = 0;
    let ib = 0;
    for (let o = 0; o < rows; o++) {
      row(out, o * n, av, ia, sa[inner], bv, ib, sb[inner], n);
      for (let d = inner - 1; d >= 0; d--) {
        ia += sa[d];
        ib += sb[d];
        if (++idx[d] < dims[d]) break;
        ia -= sa[d] * dims[d];
        ib -= sb[d] * dims[d];
        idx[d] = 0;
      }
    }
    return cpu.makeTensorInfo(outShape, 'float32', out);
  }) as unknown as tf.KernelFunc;
}

function gatherCpu(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: { axis: number; batchDims: number } }) => {
    const x = args.inputs.x as tf.TensorInfo;
    const indices = args.inputs.indices as tf.TensorInfo;
    if (args.attrs.batchDims !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return stock(args as never);
    const cpu = args.backend as CpuBackendLike;
    const axis = tf.util.parseAxisParam(args.attrs.axis, x.shape)[0];
    const ids = cpu.data.get(indices.dataId).values;
    const size = x.shape[axis];
    for (let i = 0; i < ids.length; i++) if (!(ids[i] >= 0 && ids[i] < size)) return stock(args as never); // stock kernel reports it
    const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
    const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
    const values = cpu.data.get(x.dataId).values as Float32Array | Int32Array;
    const out =
      x.dtype === 'int32' ? new Int32Array(outer * ids.length * inner) : new Float32Array(outer * ids.length * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < ids.length; i++) {
        const src = (o * size + ids[i]) * inner;
        out.set(values.subarray(src, src + inner), (o * ids.length + i) * inner);
      }
    }
    return cpu.makeTensorInfo([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype, out);
  }) as unknown as tf.KernelFunc;
}

/** Row-major copy of the last two axes of [batch, rows, cols] stored as [batch, cols, rows] (or as is). */
function rowMajor(values: Float32Array, batch: number, rows: number, cols: number, transposed: boolean): Float32Array {
  if (!transposed) return values;
  const out = new Float32Array(batch * rows * cols);
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let c = 0; c < cols; c++)
      for (let r = 0; r < rows; r++) out[base + r * cols + c] = values[base + c * rows + r];
  }
  return out;
}

function batchMatMulCpu(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs: { transposeA: boolean; transposeB: boolean };
  }) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const { transposeA, transposeB } = args.attrs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args as never);
    const cpu = args.backend as CpuBackendLike;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== k) return stock(args as never);
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = Math.max(batchA, batchB);
    const av = rowMajor(cpu.data.get(a.dataId).values as Float32Array, batchA, m, k, transposeA);
    const out = new Float32Array(batch * m * n);
    const acc = new Float64Array(n);
    if (n >= 16) {
      const bv = rowMajor(cpu.data.get(b.dataId).values as Float32Array, batchB, k, n, transposeB);
      for (let bi = 0; bi < batch; bi++) {
        const aBase = (bi % batchA) * m * k;
        const bBase = (bi % batchB) * k * n;
        for (let i = 0; i < m; i++) {
          acc.fill(0);
          for (let p = 0; p < k; p++) {
            const aip = av[aBase + i * k + p];
            const row = bBase + p * n;
            for (let j = 0; j < n; j++) acc[j] += aip * bv[row + j];
          }
          out.set(acc, (bi * m + i) * n);
        }
      }
    } else {
      // B as [batch, N, K]: one contiguous dot product per output element.
      const bt = rowMajor(cpu.data.get(b.dataId).values as Float32Array, batchB, n, k, !transposeB);
      for (let bi = 0; bi < batch; bi++) {
        const aBase = (bi % batchA) * m * k;
        const bBase = (bi % batchB) * n * k;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let sum = 0;
            const ai = aBase + i * k;
            const bj = bBase + j * k;
            for (let p = 0; p < k; p++) sum += av[ai + p] * bt[bj + p];
            out[(bi * m + i) * n + j] = sum;
          }
        }
      }
    }
    return cpu.makeTensorInfo([...outer, m, n], 'float32', out);
  }) as unknown as tf.KernelFunc;
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
replaceKernel('GatherV2', 'cpu', gatherCpu);
for (const [name, row] of Object.entries(ROWS)) replaceKernel(name, 'cpu', (stock) => broadcastBinaryCpu(row, stock));
replaceKernel('Conv2DBackpropFilter', 'cpu', (stock) => convBackpropFilterCpu(false, stock));
replaceKernel('DepthwiseConv2dNativeBackpropFilter', 'cpu', (stock) => convBackpropFilterCpu(true, stock));

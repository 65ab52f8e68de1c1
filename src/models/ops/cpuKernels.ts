/**
 * Faster kernels for tfjs's cpu backend (Node tests, and the browser's last-resort fallback):
 * - UnsortedSegmentSum: the stock kernel builds one mask per segment (O(segments · N)); as the
 *   gradient of every gather it took 60 of 63 s of a tiny-decoder training step.
 * - Slice / SplitV: the stock kernels copy non-contiguous slices element by element through
 *   TensorBuffer index arithmetic (~7 µs per element here); these copy contiguous inner runs.
 * Only the cpu backend is touched.
 */
import * as tf from '@tensorflow/tfjs';

interface CpuBackendLike {
  data: { get(id: unknown): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

function unsortedSegmentSumCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
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
function sliceValues(values: ArrayLike<number> & { subarray?: unknown }, shape: number[], begin: number[], size: number[], out: Float32Array | Int32Array): void {
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

function sliceCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
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

function splitVCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
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

// Bool tensors are stored as Uint8Array on cpu; keep the stock kernels for them.
function unlessBool(fast: (args: never) => tf.TensorInfo | tf.TensorInfo[], stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap }) => ((args.inputs.x as tf.TensorInfo | undefined)?.dtype === 'bool' ? stock(args as never) : fast(args as never))) as unknown as tf.KernelFunc;
}

function replaceCpuKernel(kernelName: string, kernelFunc: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  const existing = tf.getKernel(kernelName, 'cpu');
  if (!existing) return;
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({ ...existing, kernelFunc: kernelFunc(existing.kernelFunc) });
}

replaceCpuKernel('UnsortedSegmentSum', () => unsortedSegmentSumCpu as unknown as tf.KernelFunc);
replaceCpuKernel('Slice', (stock) => unlessBool(sliceCpu as never, stock));
replaceCpuKernel('SplitV', (stock) => unlessBool(splitVCpu as never, stock));

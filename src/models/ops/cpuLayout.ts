/**
 * Layout kernels for tfjs's cpu backend, each copying contiguous runs instead of walking
 * TensorBuffer index arithmetic per element (~7 µs per element here):
 * - Slice / SplitV: contiguous inner runs of the box;
 * - GatherV2 (batchDims 0): whole inner rows;
 * - Transpose / Tile: one odometer over the output, the input offset updated by strides (the stock
 *   kernels convert every index to a location and back; 9 % of a Mean Teacher step before);
 * - Sum, Mean, Max, Min, ArgMax, ArgMin over axes that are not innermost: the stock kernels first
 *   permute them innermost with that slow internal transpose; this permutes with the fast one and
 *   hands the stock kernel innermost axes, so it reduces the same values in the same order.
 */
import * as tf from '@tensorflow/tfjs';

export interface CpuBackendLike {
  data: { get(id: unknown): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

/** What tfjs passes a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
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

export function sliceCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
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

export function splitVCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
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

export function gatherCpu(stock: tf.KernelFunc): tf.KernelFunc {
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

const sameLayoutArray = (x: tf.TensorInfo, n: number) =>
  x.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);

/**
 * Walks the output of rank `dims.length` in row-major order; `run(o, i, n)` copies the innermost
 * run of n elements starting at output offset o, whose first input offset is i; `strides[d]` is the
 * input offset step along output axis d.
 */
function odometer(dims: number[], strides: number[], run: (o: number, i: number) => void): void {
  const inner = dims.length - 1;
  const n = dims[inner];
  const rows = dims.slice(0, inner).reduce((a, d) => a * d, 1);
  const idx = new Array<number>(inner).fill(0);
  let i = 0;
  for (let r = 0; r < rows; r++) {
    run(r * n, i);
    for (let d = inner - 1; d >= 0; d--) {
      i += strides[d];
      if (++idx[d] < dims[d]) break;
      i -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

const rowMajorStrides = (shape: number[]) => {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
};

const fastLayout = (x: tf.TensorInfo) => (x.dtype === 'float32' || x.dtype === 'int32') && x.shape.length > 0;

export function transposeCpu(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: { perm: number[] } }) => {
    const x = args.inputs.x as tf.TensorInfo;
    return fastLayout(x) ? transposed(args.backend as CpuBackendLike, x, args.attrs.perm) : stock(args as never);
  }) as unknown as tf.KernelFunc;
}

function transposed(cpu: CpuBackendLike, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  const inStrides = rowMajorStrides(x.shape);
  const dims = perm.map((p) => x.shape[p]);
  const strides = perm.map((p) => inStrides[p]);
  const values = cpu.data.get(x.dataId).values as Float32Array | Int32Array;
  const out = sameLayoutArray(x, values.length);
  const inner = dims.length - 1;
  const n = dims[inner];
  const s = strides[inner];
  if (out.length > 0)
    odometer(dims, strides, (o, i) => {
      if (s === 1) out.set(values.subarray(i, i + n), o);
      else for (let j = 0; j < n; j++) out[o + j] = values[i + j * s];
    });
  return cpu.makeTensorInfo(dims, x.dtype, out);
}

/** A reduction kernel whose axes attribute is `axisAttr`, fed innermost axes (see the file's comment). */
export function innerMostReduction(axisAttr: 'axis' | 'reductionIndices', stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: Record<string, unknown> }) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (!fastLayout(x)) return stock(args as never);
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(args.attrs[axisAttr] as number | number[], x.shape);
    const perm = tf.backend_util.getAxesPermutation(axes, rank);
    if (perm === null) return stock(args as never);
    const cpu = args.backend as CpuBackendLike;
    const permuted = transposed(cpu, x, perm);
    const inner = tf.backend_util.getInnerMostAxes(axes.length, rank);
    const keepDims = args.attrs.keepDims === true;
    const attrs = { ...args.attrs, [axisAttr]: inner, ...('keepDims' in args.attrs ? { keepDims: false } : {}) };
    const out = stock({ inputs: { x: permuted }, backend: args.backend, attrs } as never) as tf.TensorInfo;
    cpu.disposeIntermediateTensorInfo(permuted);
    // Reduced axes kept as size 1 do not move any value: the same data under the original rank.
    return keepDims ? { ...out, shape: tf.backend_util.expandShapeToKeepDim(out.shape, axes) } : out;
  }) as unknown as tf.KernelFunc;
}

export function tileCpu(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: { reps: number[] } }) => {
    const x = args.inputs.x as tf.TensorInfo;
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length === 0) return stock(args as never);
    const cpu = args.backend as CpuBackendLike;
    const { reps } = args.attrs;
    const dims = x.shape.map((d, k) => d * reps[k]);
    const out = sameLayoutArray(x, tf.util.sizeFromShape(dims));
    if (out.length === 0) return cpu.makeTensorInfo(dims, x.dtype, out);
    const values = cpu.data.get(x.dataId).values as Float32Array | Int32Array;
    const inStrides = rowMajorStrides(x.shape);
    const rank = dims.length;
    const inner = x.shape[rank - 1];
    const rows = out.length / dims[rank - 1];
    const idx = new Array<number>(rank - 1).fill(0);
    for (let r = 0; r < rows; r++) {
      let i = 0;
      for (let d = 0; d < rank - 1; d++) i += (idx[d] % x.shape[d]) * inStrides[d];
      const row = values.subarray(i, i + inner);
      for (let t = 0; t < reps[rank - 1]; t++) out.set(row, r * dims[rank - 1] + t * inner);
      for (let d = rank - 2; d >= 0; d--) {
        if (++idx[d] < dims[d]) break;
        idx[d] = 0;
      }
    }
    return cpu.makeTensorInfo(dims, x.dtype, out);
  }) as unknown as tf.KernelFunc;
}

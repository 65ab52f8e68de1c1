/**
 * Broadcasting binary ops for tfjs's cpu backend (Add, Sub, Multiply, RealDiv, Minimum, Maximum on
 * float32, and Add, Sub, Multiply on int32): the stock kernels convert every output index to a
 * location and back; these walk collapsed strides and run contiguous rows in tight loops. Each
 * element is computed by the same JavaScript arithmetic as the stock kernel, stored into the same
 * typed array, so the values are the same.
 */
import * as tf from '@tensorflow/tfjs';
import type { CpuBackendLike } from './cpuLayout';

type Values = Float32Array | Int32Array;

type Row = (
  out: Values,
  o: number,
  a: Values,
  ia: number,
  sa: number,
  b: Values,
  ib: number,
  sb: number,
  n: number,
) => void;

/** One row of each op; made once per dtype so each closure only ever sees one array type. */
function makeRows(): Record<string, Row> {
  return {
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
    Minimum: (out, o, a, ia, sa, b, ib, sb, n) => {
      for (let j = 0; j < n; j++) out[o + j] = Math.min(a[ia + j * sa], b[ib + j * sb]);
    },
    Maximum: (out, o, a, ia, sa, b, ib, sb, n) => {
      for (let j = 0; j < n; j++) out[o + j] = Math.max(a[ia + j * sa], b[ib + j * sb]);
    },
  };
}

const FLOAT_ROWS = makeRows();
const INT_ROWS = makeRows();
/** int32 ops whose stock kernel keeps int32 (RealDiv casts to float32; Minimum/Maximum are rare on int32). */
const INT_OPS = new Set(['Add', 'Sub', 'Multiply']);
export const BROADCAST_OPS = Object.keys(FLOAT_ROWS);

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

export function broadcastBinaryCpu(name: string, stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const int = a.dtype === 'int32' && INT_OPS.has(name);
    if (a.dtype !== b.dtype || (a.dtype !== 'float32' && !int) || tf.util.arraysEqual(a.shape, b.shape))
      return stock(args as never);
    const row = (int ? INT_ROWS : FLOAT_ROWS)[name];
    const cpu = args.backend as CpuBackendLike;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = tf.util.sizeFromShape(outShape);
    const out = int ? new Int32Array(size) : new Float32Array(size);
    const av = cpu.data.get(a.dataId).values as Values;
    const bv = cpu.data.get(b.dataId).values as Values;
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
    return cpu.makeTensorInfo(outShape, a.dtype, out);
  }) as unknown as tf.KernelFunc;
}

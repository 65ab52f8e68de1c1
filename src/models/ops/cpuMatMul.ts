/**
 * BatchMatMul for tfjs's cpu backend. The stock kernel reads B with a stride in its innermost loop;
 * this one copies both operands to row-major [batch, M, K] · [batch, K, N] and runs contiguous row
 * updates (ikj order, float64 row accumulators), or dot products over a transposed B when N is small.
 *
 * Rows of A are taken four at a time, so each row of B is read once per four output rows, and a
 * step p whose four A entries are all zero is skipped when B is finite (0·x adds nothing then; with
 * an Inf or NaN in B the product must stay NaN). The separable resize's interpolation matrices are
 * such band matrices: 2–8 non-zeros in a row of 256, and 12 % of a Mean Teacher step's time before.
 * Every output element still sums its products in ascending p, so results do not change.
 */
import * as tf from '@tensorflow/tfjs';
import type { CpuBackendLike } from './cpuLayout';

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

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** out[i0 + r, :] = Σ_p A[i0 + r, p] · B[p, :] for r < rows (≤ 4), in ascending p. */
function rowBlock(
  av: Float32Array,
  aRow: number,
  k: number,
  bv: Float32Array,
  bBase: number,
  n: number,
  rows: number,
  skipZeros: boolean,
  acc: Float64Array[],
  out: Float32Array,
  outRow: number,
): void {
  const [acc0, acc1, acc2, acc3] = acc;
  for (let r = 0; r < rows; r++) acc[r].fill(0);
  const a1 = rows > 1 ? aRow + k : aRow;
  const a2 = rows > 2 ? aRow + 2 * k : aRow;
  const a3 = rows > 3 ? aRow + 3 * k : aRow;
  for (let p = 0; p < k; p++) {
    const x0 = av[aRow + p];
    const x1 = rows > 1 ? av[a1 + p] : 0;
    const x2 = rows > 2 ? av[a2 + p] : 0;
    const x3 = rows > 3 ? av[a3 + p] : 0;
    if (skipZeros && x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
    const row = bBase + p * n;
    if (rows === 4) {
      for (let j = 0; j < n; j++) {
        const y = bv[row + j];
        acc0[j] += x0 * y;
        acc1[j] += x1 * y;
        acc2[j] += x2 * y;
        acc3[j] += x3 * y;
      }
    } else {
      for (let j = 0; j < n; j++) acc0[j] += x0 * bv[row + j];
      if (rows > 1) for (let j = 0; j < n; j++) acc1[j] += x1 * bv[row + j];
      if (rows > 2) for (let j = 0; j < n; j++) acc2[j] += x2 * bv[row + j];
    }
  }
  for (let r = 0; r < rows; r++) out.set(acc[r], (outRow + r) * n);
}

interface MatMulArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs: { transposeA: boolean; transposeB: boolean; activation?: string };
}

/** A·B, or null where the stock kernel must run (other dtypes, mismatched inner sizes: it reports them). */
function product(args: MatMulArgs): tf.TensorInfo | null {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const { transposeA, transposeB } = args.attrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const cpu = args.backend as CpuBackendLike;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== k) return null;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const av = rowMajor(cpu.data.get(a.dataId).values as Float32Array, batchA, m, k, transposeA);
  const out = new Float32Array(batch * m * n);
  if (n >= 16) {
    const bv = rowMajor(cpu.data.get(b.dataId).values as Float32Array, batchB, k, n, transposeB);
    const skipZeros = allFinite(bv);
    const acc = Array.from({ length: 4 }, () => new Float64Array(n));
    for (let bi = 0; bi < batch; bi++) {
      const aBase = (bi % batchA) * m * k;
      const bBase = (bi % batchB) * k * n;
      for (let i = 0; i < m; i += 4)
        rowBlock(av, aBase + i * k, k, bv, bBase, n, Math.min(4, m - i), skipZeros, acc, out, bi * m + i);
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
}

export function batchMatMulCpu(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: MatMulArgs) => product(args) ?? stock(args as never)) as unknown as tf.KernelFunc;
}

/**
 * _FusedMatMul without an activation (ConvNeXt's MLP and the linear layers): the product above and the
 * broadcasting Add; the stock kernel calls its own slow BatchMatMul directly.
 */
export function fusedMatMulCpu(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: MatMulArgs) => {
    const activation = args.attrs.activation;
    if (activation !== undefined && activation !== 'linear') return stock(args as never);
    const bias = args.inputs.bias as tf.TensorInfo | undefined;
    const out = product(args);
    if (!out) return stock(args as never);
    if (!bias) return out;
    const add = tf.getKernel('Add', 'cpu')!.kernelFunc;
    const sum = add({ inputs: { a: out, b: bias }, backend: args.backend } as never) as tf.TensorInfo;
    (args.backend as CpuBackendLike).disposeIntermediateTensorInfo(out);
    return sum;
  }) as unknown as tf.KernelFunc;
}

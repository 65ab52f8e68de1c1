/**
 * Replacements for tfjs-webgpu kernels that reduce over a short axis: Sum, Mean, Max and Softmax.
 * tfjs gives every output row a 64-thread workgroup; with rows of 4 to 32 values (bilinear taps,
 * deformable-attention weights, SAM's 7 tokens) almost every thread idles, and there can be millions
 * of rows. Here each output is one thread looping over its few values. Longer reductions, other dtypes
 * and non-contiguous axes keep the stock kernels. The gradients are registered per kernel name, so
 * training is unchanged. Registered on import, after the WebGPU backend's own kernels.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { replaceKernel } from './kernelRegistry';
import { RowProgram, type ProgramUniform, type WebGpuBackendLike } from './webgpuProgram';

/** Reductions over at most this many values run one thread per output. */
export const SHORT_REDUCTION = 32;

type Reduction = 'sum' | 'mean' | 'max';

/** x seen as [outer, reduced, inner]: out[o, i] = reduce over r of x[o, r, i]. */
class StridedReduceProgram extends RowProgram {
  variableNames = ['X'];
  shaderKey: string;
  uniforms = 'outputs : i32, reduced : i32, inner : i32,';
  private readonly op: Reduction;

  constructor(op: Reduction, outputShape: number[], outputs: number) {
    super(outputShape, outputs);
    this.op = op;
    this.shaderKey = `dearli_strided_${op}`;
  }

  getUserCode(): string {
    const combine = this.op === 'max' ? 'acc = max(acc, v);' : 'acc += v;';
    const result = this.op === 'mean' ? 'acc / f32(uniforms.reduced)' : 'acc';
    return `
      fn main(row : i32) {
        if (row >= uniforms.outputs) {
          return;
        }
        let inner = uniforms.inner;
        let o = row / inner;
        let base = o * uniforms.reduced * inner + (row - o * inner);
        var acc = X[base];
        for (var r = 1; r < uniforms.reduced; r++) {
          let v = X[base + r * inner];
          ${combine}
        }
        setOutputAtIndex(row, ${result});
      }
    `;
  }
}

/** Softmax over a short last axis, one thread per row. */
class RowSoftmaxProgram extends RowProgram {
  variableNames = ['X'];
  shaderKey = 'dearli_row_softmax';
  uniforms = 'rows : i32, cols : i32,';

  getUserCode(): string {
    return `
      fn main(row : i32) {
        if (row >= uniforms.rows) {
          return;
        }
        let cols = uniforms.cols;
        let base = row * cols;
        var rowMax = X[base];
        for (var i = 1; i < cols; i++) {
          rowMax = max(rowMax, X[base + i]);
        }
        var sum = 0.0;
        for (var i = 0; i < cols; i++) {
          sum += exp(X[base + i] - rowMax);
        }
        for (var i = 0; i < cols; i++) {
          setOutputAtIndex(base + i, exp(X[base + i] - rowMax) / sum);
        }
      }
    `;
  }
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: WebGpuBackendLike;
  attrs: Record<string, unknown>;
}

const product = (xs: number[]) => xs.reduce((a, d) => a * d, 1);

function shortReduction(op: Reduction, axisAttr: string, stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x;
    const axes = tf.util.parseAxisParam(args.attrs[axisAttr] as number | number[], x.shape).sort((a, b) => a - b);
    const first = axes[0];
    const contiguous = axes.every((a, i) => a === first + i);
    const reduced = product(axes.map((a) => x.shape[a]));
    const kept = x.shape.filter((_, i) => !axes.includes(i));
    if (
      x.dtype !== 'float32' ||
      !contiguous ||
      axes.length === 0 ||
      reduced === 0 ||
      reduced > SHORT_REDUCTION ||
      kept.length === 0
    ) {
      return stock(args as never);
    }
    const inner = product(x.shape.slice(first + axes.length));
    const outputs = product(kept);
    const outShape = args.attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept;
    const uniforms: ProgramUniform = [
      { type: 'int32', data: [outputs] },
      { type: 'int32', data: [reduced] },
      { type: 'int32', data: [inner] },
    ];
    return args.backend.runWebGPUProgram(new StridedReduceProgram(op, outShape, outputs), [x], 'float32', uniforms);
  }) as unknown as tf.KernelFunc;
}

function shortSoftmax(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const logits = args.inputs.logits;
    const rank = logits.shape.length;
    const dim = args.attrs.dim as number;
    const cols = logits.shape[rank - 1];
    if (logits.dtype !== 'float32' || (dim !== -1 && dim !== rank - 1) || cols > SHORT_REDUCTION || cols === 0)
      return stock(args as never);
    const rows = product(logits.shape) / cols;
    const uniforms: ProgramUniform = [
      { type: 'int32', data: [rows] },
      { type: 'int32', data: [cols] },
    ];
    return args.backend.runWebGPUProgram(new RowSoftmaxProgram(logits.shape, rows), [logits], 'float32', uniforms);
  }) as unknown as tf.KernelFunc;
}

replaceKernel('Sum', 'webgpu', (stock) => shortReduction('sum', 'axis', stock));
replaceKernel('Mean', 'webgpu', (stock) => shortReduction('mean', 'axis', stock));
replaceKernel('Max', 'webgpu', (stock) => shortReduction('max', 'reductionIndices', stock));
replaceKernel('Softmax', 'webgpu', shortSoftmax);

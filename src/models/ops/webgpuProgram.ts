/**
 * The plumbing for the lab's own WebGPU programs: the parts of tfjs-webgpu's (unexported)
 * WebGPUProgram interface they fill in, a base for one-thread-per-row programs, and running one.
 */
import * as tf from '@tensorflow/tfjs';

export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  uniforms?: string;
  /** The output is array<atomic<i32>> (float bits) and starts zeroed; the shader adds into it. */
  atomic?: boolean;
  getUserCode(): string;
}

export type ProgramUniform = { type: 'float32' | 'int32'; data: number[] }[];

export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
    uniforms?: ProgramUniform,
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
}

const WORKGROUP = 64;

/**
 * One thread per row (of the last axis, or per output of a reduction): its WGSL `main(row)` gets the
 * row index and must check it against its row count (the dispatch is rounded up to whole workgroups).
 */
export abstract class RowProgram implements WebGpuProgram {
  abstract variableNames: string[];
  abstract shaderKey: string;
  abstract uniforms: string;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];

  constructor(outputShape: number[], rows: number) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(rows / WORKGROUP), 1, 1];
  }

  abstract getUserCode(): string;
}

/** One thread per output element: its WGSL `main(index)` must check index < uniforms.size. */
export abstract class ElementwiseProgram implements WebGpuProgram {
  abstract variableNames: string[];
  abstract shaderKey: string;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, d) => a * d, 1) / WORKGROUP), 1, 1];
  }

  abstract getUserCode(): string;
}

/** Runs a program on the active (WebGPU) backend and wraps its output as a tensor. */
export function runProgram(program: WebGpuProgram, inputs: tf.Tensor[], uniforms?: ProgramUniform): tf.Tensor {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const info = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Runs an atomic program into a zero-filled output of its output shape, which it returns. */
export function runAtomicProgram(program: WebGpuProgram, inputs: tf.Tensor[], uniforms?: ProgramUniform): tf.Tensor {
  const output = tf.zeros(program.outputShape);
  (tf.backend() as unknown as WebGpuBackendLike).runWebGPUProgram(program, inputs, 'float32', uniforms, output);
  return output;
}

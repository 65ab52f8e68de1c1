/**
 * Inference-only fused kernels for frozen networks (the CLIP towers, SAM). On WebGPU, LayerNorm and exact
 * GELU are one dispatch each instead of the 9 and 5 elementwise passes of their nn.ts compositions:
 * ConvNeXt is dominated by such passes over its 4C-wide MLP activations, and per-dispatch overhead
 * (large on SwiftShader) multiplies with its 36 blocks. Other backends use the nn.ts compositions.
 *
 * No gradients: the custom WebGPU programs are not registered kernels, so tf.grad cannot see through
 * them. Use nn.ts for anything that trains.
 */
import * as tf from '@tensorflow/tfjs';
import { gelu, layerNorm } from './nn';
import { ElementwiseProgram, RowProgram, runProgram } from './webgpuProgram';

function onWebGpu(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** Mean, biased variance, then the affine, over the last axis. */
class RowLayerNormProgram extends RowProgram {
  variableNames = ['X', 'W', 'B'];
  shaderKey = 'dearli_row_layer_norm';
  uniforms = 'eps : f32, rows : i32, channels : i32,';

  getUserCode(): string {
    return `
      fn main(row : i32) {
        if (row >= uniforms.rows) {
          return;
        }
        let channels = uniforms.channels;
        let base = row * channels;
        var sum = 0.0;
        for (var i = 0; i < channels; i++) {
          sum += X[base + i];
        }
        let mean = sum / f32(channels);
        var squares = 0.0;
        for (var i = 0; i < channels; i++) {
          let d = X[base + i] - mean;
          squares += d * d;
        }
        let scale = 1.0 / sqrt(squares / f32(channels) + uniforms.eps);
        for (var i = 0; i < channels; i++) {
          setOutputAtIndex(base + i, (X[base + i] - mean) * scale * W[i] + B[i]);
        }
      }
    `;
  }
}

/** erf by Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7), the polynomial tfjs's Erf uses, as WGSL `erfApprox` on `type`. */
export function erfWgsl(type: 'f32' | 'vec4<f32>'): string {
  return `
      fn erfApprox(v : ${type}) -> ${type} {
        let z = abs(v);
        let t = 1.0 / (1.0 + 0.3275911 * z);
        let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
        return sign(v) * (1.0 - poly * exp(-z * z));
      }`;
}

/** Exact GELU x·Φ(x) with erfWgsl's erf. */
class GeluProgram extends ElementwiseProgram {
  variableNames = ['A'];
  shaderKey = 'dearli_gelu_erf';

  getUserCode(): string {
    return `
      ${erfWgsl('f32')}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let v = A[index];
          setOutputAtIndex(index, 0.5 * v * (1.0 + erfApprox(v * 0.7071067811865476)));
        }
      }
    `;
  }
}

/** LayerNorm over the last axis (biased variance), as nn.ts layerNorm; one dispatch on WebGPU. */
export function layerNormInference<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): T {
  if (!onWebGpu()) return layerNorm(x, weight, bias, eps) as T;
  const channels = x.shape[x.rank - 1];
  const rows = x.size / channels;
  return runProgram(
    new RowLayerNormProgram(x.shape, rows),
    [x, weight, bias],
    [
      { type: 'float32', data: [eps] },
      { type: 'int32', data: [rows] },
      { type: 'int32', data: [channels] },
    ],
  ) as T;
}

/** Exact (erf) GELU, as nn.ts gelu; one dispatch on WebGPU. */
export function geluInference<T extends tf.Tensor>(x: T): T {
  if (!onWebGpu()) return gelu(x) as T;
  return runProgram(new GeluProgram(x.shape), [x]) as T;
}

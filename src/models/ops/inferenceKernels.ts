/**
 * Inference-only fused kernels for frozen networks (the CLIP towers, SAM). On WebGPU, exact GELU is one
 * dispatch instead of the 5 elementwise passes of its nn.ts composition (LayerNorm is one dispatch in
 * nn.ts itself, layerNormKernels.ts): ConvNeXt is dominated by such passes over its 4C-wide MLP
 * activations, and per-dispatch overhead (large on SwiftShader) multiplies with its 36 blocks. Other
 * backends use the nn.ts compositions.
 *
 * No gradients: the custom WebGPU programs are not registered kernels, so tf.grad cannot see through
 * them. Use nn.ts for anything that trains.
 */
import * as tf from '@tensorflow/tfjs';
import { gelu } from './nn';
import { ElementwiseProgram, runProgram } from './webgpuProgram';

function onWebGpu(): boolean {
  return tf.getBackend() === 'webgpu';
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

/** Exact (erf) GELU, as nn.ts gelu; one dispatch on WebGPU. */
export function geluInference<T extends tf.Tensor>(x: T): T {
  if (!onWebGpu()) return gelu(x) as T;
  return runProgram(new GeluProgram(x.shape), [x]) as T;
}

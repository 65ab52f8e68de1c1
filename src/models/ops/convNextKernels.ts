/**
 * Inference kernels for ConvNeXt blocks x + γ·fc2(GELU(fc1(LN(dwconv(x))))) on WebGPU (frozen CLIP
 * towers: no gradients, as inferenceKernels.ts).
 *
 * - Depthwise k×k conv (stride 1, zero "same" padding) + bias + LayerNorm over channels in one
 *   dispatch, one thread per pixel, so the conv output is not read back by a separate LayerNorm pass.
 *   (A workgroup per pixel with its threads over channels and workgroup reductions measured 2-4× slower
 *   than the composed path on SwiftShader; this layout measured faster at all but the smallest maps.)
 * - The MLP's tail: layer scale and residual x + γ⊙fc2(…) in one elementwise pass instead of two (fc1
 *   and fc2 stay tfjs's fused matMuls with their bias; GELU is inferenceKernels.ts's one-pass kernel).
 *
 * Limits: the fused dwconv + LN runs on WebGPU with channels a multiple of 4, at least MIN_FUSED_PIXELS
 * pixels and a square odd kernel of multiplier 1; elsewhere, the stock depthwise conv and
 * inferenceKernels.ts's LayerNorm.
 */
import * as tf from '@tensorflow/tfjs';
import { layerNorm } from './nn';
import { ElementwiseProgram, RowProgram, runProgram } from './webgpuProgram';

/**
 * Fewer pixels than this keep the composed path: one thread per pixel leaves SwiftShader's cores idle
 * there (2×2×1024, ConvNeXt-B's last stage at 64 px, measured 4× slower fused).
 */
export const MIN_FUSED_PIXELS = 16;

/**
 * One thread per pixel, channels four at a time (vec4): the conv of all C channels, written to the
 * output, then mean and centred variance over the written values, then the affine in place.
 */
class DepthwiseConvLayerNormProgram extends RowProgram {
  variableNames = ['X', 'Filter', 'ConvBias', 'NormWeight', 'NormBias'];
  variableComponents = [4, 4, 4, 4, 4];
  outputComponent = 4;
  shaderKey: string;
  uniforms = 'eps : f32,';
  private readonly kernelSize: number;

  constructor(shape: number[], kernelSize: number) {
    super(shape, shape[0] * shape[1] * shape[2]);
    this.kernelSize = kernelSize;
    this.shaderKey = `dearli_dwconv_layer_norm_${shape.join('x')}_${kernelSize}`;
  }

  getUserCode(): string {
    const [batch, height, width, channels] = this.outputShape;
    return `
      const H = ${height};
      const W = ${width};
      const QUADS = ${channels / 4};
      const K = ${this.kernelSize};
      const PAD = ${(this.kernelSize - 1) / 2};
      const PIXELS = ${batch * height * width};
      const ONES = vec4<f32>(1.0);

      fn main(pixel : i32) {
        if (pixel >= PIXELS) {
          return;
        }
        let b = pixel / (H * W);
        let y = (pixel / W) % H;
        let x = pixel % W;
        let base = pixel * QUADS;
        var sum = vec4<f32>(0.0);
        for (var q = 0; q < QUADS; q++) {
          var v = ConvBias[q];
          for (var ky = 0; ky < K; ky++) {
            let iy = y + ky - PAD;
            if (iy < 0 || iy >= H) {
              continue;
            }
            for (var kx = 0; kx < K; kx++) {
              let ix = x + kx - PAD;
              if (ix < 0 || ix >= W) {
                continue;
              }
              v += X[((b * H + iy) * W + ix) * QUADS + q] * Filter[(ky * K + kx) * QUADS + q];
            }
          }
          result[base + q] = v;
          sum += v;
        }
        let mean = dot(sum, ONES) / f32(QUADS * 4);
        var squares = vec4<f32>(0.0);
        for (var q = 0; q < QUADS; q++) {
          let d = result[base + q] - mean;
          squares += d * d;
        }
        let scale = 1.0 / sqrt(dot(squares, ONES) / f32(QUADS * 4) + uniforms.eps);
        for (var q = 0; q < QUADS; q++) {
          result[base + q] = (result[base + q] - mean) * scale * NormWeight[q] + NormBias[q];
        }
      }
    `;
  }
}

/**
 * LayerNorm(depthwiseConv(x, kernel [k, k, C, 1], stride 1, pad (k−1)/2) + convBias) over channels,
 * x NHWC. One dispatch on WebGPU within the limits above; else tfjs's depthwise conv, then LayerNorm.
 */
export function depthwiseConvLayerNorm(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  convBias: tf.Tensor1D,
  normWeight: tf.Tensor1D,
  normBias: tf.Tensor1D,
  eps: number,
): tf.Tensor4D {
  const [kh, kw, channels, multiplier] = kernel.shape;
  const fused =
    tf.getBackend() === 'webgpu' &&
    kh === kw &&
    kh % 2 === 1 &&
    multiplier === 1 &&
    channels === x.shape[3] &&
    channels % 4 === 0 &&
    x.shape[0] * x.shape[1] * x.shape[2] >= MIN_FUSED_PIXELS;
  if (!fused) {
    return tf.tidy(() => {
      const pad = (kh - 1) / 2;
      const mixed = tf.fused.depthwiseConv2d({ x, filter: kernel, strides: 1, pad, bias: convBias });
      return layerNorm(mixed, normWeight, normBias, eps);
    });
  }
  return runProgram(
    new DepthwiseConvLayerNormProgram(x.shape, kh),
    [x, kernel, convBias, normWeight, normBias],
    [{ type: 'float32', data: [eps] }],
  ) as tf.Tensor4D;
}

/** out = x + γ⊙y over the last axis (γ [C]): ConvNeXt's layer scale and residual in one pass. */
class LayerScaleResidualProgram extends ElementwiseProgram {
  variableNames = ['X', 'Y', 'Gamma'];
  shaderKey = 'dearli_layer_scale_residual';
  uniforms = 'channels : i32,';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, X[index] + Gamma[index % uniforms.channels] * Y[index]);
        }
      }
    `;
  }
}

/** x + γ⊙y (x, y [..., C], γ [C]); one dispatch on WebGPU. */
export function layerScaleResidual<T extends tf.Tensor>(x: T, y: tf.Tensor, gamma: tf.Tensor1D): T {
  if (tf.getBackend() !== 'webgpu') return tf.tidy(() => tf.add(x, tf.mul(y, gamma))) as T;
  const channels = x.shape[x.rank - 1];
  return runProgram(new LayerScaleResidualProgram(x.shape), [x, y, gamma], [{ type: 'int32', data: [channels] }]) as T;
}

/**
 * Inference kernels for ConvNeXt blocks x + γ·fc2(GELU(fc1(LN(dwconv(x))))) on WebGPU (frozen CLIP
 * towers: no gradients, as inferenceKernels.ts).
 *
 * - Depthwise k×k conv (stride 1, zero "same" padding) + bias + LayerNorm over channels in one
 *   dispatch: one workgroup per pixel, its threads over channels, two workgroup reductions (mean, then
 *   the centred variance), so the conv output never goes to memory between the two.
 * - The MLP's tail: layer scale and residual x + γ⊙fc2(…) in one elementwise pass instead of two (fc1
 *   and fc2 stay tfjs's fused matMuls with their bias; GELU is inferenceKernels.ts's one-pass kernel).
 *
 * Limits: the fused dwconv + LN runs on WebGPU with channels ≤ MAX_FUSED_CHANNELS and a square odd
 * kernel of multiplier 1; elsewhere, the stock depthwise conv and inferenceKernels.ts's LayerNorm.
 */
import * as tf from '@tensorflow/tfjs';
import { layerNormInference } from './inferenceKernels';
import { ElementwiseProgram, runProgram, type WebGpuProgram } from './webgpuProgram';

const LANES = 64;
/** Channels per thread are kept in a per-thread array of this many / LANES values. */
export const MAX_FUSED_CHANNELS = 4096;

class DepthwiseConvLayerNormProgram implements WebGpuProgram {
  variableNames = ['X', 'Filter', 'ConvBias', 'NormWeight', 'NormBias'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [LANES, 1, 1];
  uniforms = 'eps : f32,';
  private readonly kernelSize: number;

  constructor(shape: number[], kernelSize: number) {
    this.outputShape = shape;
    this.kernelSize = kernelSize;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [shape[0] * shape[1] * shape[2], 1, 1];
    this.shaderKey = `dearli_dwconv_layer_norm_${shape.join('x')}_${kernelSize}`;
  }

  getUserCode(): string {
    const [batch, height, width, channels] = this.outputShape;
    return `
      const H = ${height};
      const W = ${width};
      const C = ${channels};
      const K = ${this.kernelSize};
      const PAD = ${(this.kernelSize - 1) / 2};
      const PIXELS = ${batch * height * width};
      const LANES = ${LANES};
      const PER_LANE = ${Math.ceil(channels / LANES)};

      var<workgroup> partial : array<f32, LANES>;

      /** Sum over the workgroup of each lane's value (every lane gets it): two barriers, no tree. */
      fn workgroupSum(lane : i32, value : f32) -> f32 {
        partial[lane] = value;
        workgroupBarrier();
        var total = 0.0;
        for (var i = 0; i < LANES; i++) {
          total += partial[i];
        }
        workgroupBarrier();
        return total;
      }

      fn main(index : i32) {
        // Barriers need uniform control flow: a workgroup past the last pixel (dispatch rounding)
        // computes the last pixel again and skips the writes.
        let block = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y +
            workgroupId.y * numWorkgroups.x + workgroupId.x);
        let valid = block < PIXELS;
        let pixel = min(block, PIXELS - 1);
        let lane = i32(localIndex);
        let b = pixel / (H * W);
        let y = (pixel / W) % H;
        let x = pixel % W;

        var conv : array<f32, PER_LANE>;
        var sum = 0.0;
        for (var i = 0; i < PER_LANE; i++) {
          let c = lane + i * LANES;
          var v = 0.0;
          if (c < C) {
            v = ConvBias[c];
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
                v += X[((b * H + iy) * W + ix) * C + c] * Filter[(ky * K + kx) * C + c];
              }
            }
          }
          conv[i] = v;
          sum += v;
        }
        let mean = workgroupSum(lane, sum) / f32(C);
        var squares = 0.0;
        for (var i = 0; i < PER_LANE; i++) {
          if (lane + i * LANES < C) {
            let d = conv[i] - mean;
            squares += d * d;
          }
        }
        let scale = 1.0 / sqrt(workgroupSum(lane, squares) / f32(C) + uniforms.eps);
        if (valid) {
          for (var i = 0; i < PER_LANE; i++) {
            let c = lane + i * LANES;
            if (c < C) {
              setOutputAtIndex(pixel * C + c, (conv[i] - mean) * scale * NormWeight[c] + NormBias[c]);
            }
          }
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
    channels <= MAX_FUSED_CHANNELS;
  if (!fused) {
    return tf.tidy(() => {
      const pad = (kh - 1) / 2;
      const mixed = tf.fused.depthwiseConv2d({ x, filter: kernel, strides: 1, pad, bias: convBias });
      return layerNormInference(mixed, normWeight, normBias, eps);
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

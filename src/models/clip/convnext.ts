/**
 * timm ConvNeXt trunk (OpenCLIP's image tower without its head), NHWC throughout.
 *
 * stem: conv k×k/k + LayerNorm; stage s: (s ≥ 1) LayerNorm + conv 2×2/2, then blocks
 * x + γ·fc2(GELU(fc1(LN(dwconv7×7(x))))). Stage outputs are res2..res5 (strides 4, 8, 16, 32);
 * res5 is also the dense map the zero-shot branch mask-pools (`norm_pre` is Identity).
 * Inference only (the backbone is frozen): LayerNorm and GELU use the fused kernels of
 * ops/inferenceKernels.ts, and blocks those of ops/convNextKernels.ts and ops/pointwiseKernels.ts,
 * which have no gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { depthwiseConvLayerNorm } from '../ops/convNextKernels';
import { geluInference } from '../ops/inferenceKernels';
import { layerNorm, linear } from '../ops/nn';
import { linearGelu, linearScaleResidual } from '../ops/pointwiseKernels';
import type { ConvNextConfig } from './config';
import { collectTensors, type ConvWeights, type LayerNormWeights, type LinearWeights } from './layers';

export interface ConvNextBlockWeights {
  /** Depthwise, kernel [k, k, C, 1]. */
  dwConv: ConvWeights;
  norm: LayerNormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
  /** Layer scale [C]. */
  gamma: tf.Tensor1D;
}

interface ConvNextStageWeights {
  /** Absent in stage 0 (the stem already has stride 4). Kernel [2, 2, Cin, Cout]. */
  downsample?: { norm: LayerNormWeights; conv: ConvWeights };
  blocks: ConvNextBlockWeights[];
}

export interface ConvNextTrunkWeights {
  stem: { conv: ConvWeights; norm: LayerNormWeights };
  stages: ConvNextStageWeights[];
}

/** Stage outputs, NHWC. */
export interface ConvNextFeatures {
  res2: tf.Tensor4D;
  res3: tf.Tensor4D;
  res4: tf.Tensor4D;
  res5: tf.Tensor4D;
}

const FEATURE_NAMES = ['res2', 'res3', 'res4', 'res5'] as const;

export class ConvNextTrunk {
  /**
   * Blocks with the fused kernels (dwconv + LayerNorm, fc1 + GELU, fc2 + layer scale + residual);
   * false composes them from separate passes (benchmarks compare the two).
   */
  fusedBlocks = true;

  constructor(
    readonly config: ConvNextConfig,
    readonly weights: ConvNextTrunkWeights,
  ) {}

  /** Total stride of res5: input sides must be multiples of it. */
  get stride(): number {
    return this.config.stemPatch * 2 ** (this.config.dims.length - 1);
  }

  /** Conv k×k stride k + LayerNorm: [B, H, W, 3] → [B, H/k, W/k, dims[0]]. */
  stem(x: tf.Tensor4D): tf.Tensor4D {
    const { conv, norm } = this.weights.stem;
    return tf.tidy(() => {
      const y = tf.fused.conv2d({
        x,
        filter: conv.kernel,
        strides: this.config.stemPatch,
        pad: 'valid',
        bias: conv.bias,
      });
      return layerNorm(y, norm.weight, norm.bias, this.config.eps) as tf.Tensor4D;
    });
  }

  /** One stage: optional downsample, then its blocks. */
  stage(index: number, x: tf.Tensor4D): tf.Tensor4D {
    const stage = this.weights.stages[index];
    const eps = this.config.eps;
    return tf.tidy(() => {
      let y = x;
      if (stage.downsample) {
        const { norm, conv } = stage.downsample;
        const normed = layerNorm(y, norm.weight, norm.bias, eps) as tf.Tensor4D;
        y = tf.fused.conv2d({ x: normed, filter: conv.kernel, strides: 2, pad: 'valid', bias: conv.bias });
      }
      for (const block of stage.blocks) {
        const previous = y;
        y = this.block(block, previous);
        // Each block's output is only needed by the next one: free it now rather than at the end of the stage.
        if (previous !== x) previous.dispose();
      }
      return y;
    });
  }

  private block(w: ConvNextBlockWeights, x: tf.Tensor4D): tf.Tensor4D {
    const eps = this.config.eps;
    return tf.tidy(() => {
      if (!this.fusedBlocks) {
        const pad = (this.config.kernelSize - 1) / 2;
        const mixed = tf.fused.depthwiseConv2d({ x, filter: w.dwConv.kernel, strides: 1, pad, bias: w.dwConv.bias });
        const normed = layerNorm(mixed, w.norm.weight, w.norm.bias, eps);
        const hidden = geluInference(linear(normed, w.fc1.weight, w.fc1.bias));
        return tf.add(x, tf.mul(linear(hidden, w.fc2.weight, w.fc2.bias), w.gamma));
      }
      const normed = depthwiseConvLayerNorm(x, w.dwConv.kernel, w.dwConv.bias, w.norm.weight, w.norm.bias, eps);
      const hidden = linearGelu(normed, w.fc1.weight, w.fc1.bias);
      return linearScaleResidual(x, hidden, w.fc2.weight, w.fc2.bias, w.gamma);
    });
  }

  /** Normalised NHWC image → res2..res5 (the caller disposes them). */
  forwardFeatures(x: tf.Tensor4D): ConvNextFeatures {
    const s = this.stride;
    if (x.shape[1] % s !== 0 || x.shape[2] % s !== 0 || x.shape[3] !== 3) {
      throw new RangeError(
        `ConvNeXt input must be [B, H, W, 3] with H and W multiples of ${s}, got [${x.shape.join(', ')}]`,
      );
    }
    if (this.weights.stages.length !== FEATURE_NAMES.length) {
      throw new RangeError(
        `ConvNeXt features need ${FEATURE_NAMES.length} stages, the weights have ${this.weights.stages.length}`,
      );
    }
    const stem = this.stem(x);
    const res2 = this.stage(0, stem);
    stem.dispose();
    const res3 = this.stage(1, res2);
    const res4 = this.stage(2, res3);
    const res5 = this.stage(3, res4);
    return { res2, res3, res4, res5 };
  }

  /** The dense map for mask pooling (res5) without keeping the earlier stages. */
  forwardDense(x: tf.Tensor4D): tf.Tensor4D {
    const { res2, res3, res4, res5 } = this.forwardFeatures(x);
    tf.dispose([res2, res3, res4]);
    return res5;
  }

  dispose(): void {
    tf.dispose(collectTensors(this.weights));
  }
}

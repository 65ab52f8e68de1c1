/**
 * OpenCLIP image head for timm ConvNeXt towers: global average pool → LayerNorm (timm `trunk.head.norm`)
 * → projection (open_clip `visual.head`: Linear without bias, or the `_d` models' MLP). Pooling comes
 * before the LayerNorm, which is why mask pooling (DEARLi/FC-CLIP) can reuse `project` on its own
 * pooled vectors.
 */
import * as tf from '@tensorflow/tfjs';
import { geluInference } from '../ops/inferenceKernels';
import { layerNorm, linear } from '../ops/nn';
import { collectTensors, type LayerNormWeights, type LinearWeights } from './layers';

type ClipProjectionWeights =
  { kind: 'linear'; proj: LinearWeights } | { kind: 'mlp'; fc1: LinearWeights; fc2: LinearWeights };

export interface ClipImageHeadWeights {
  norm: LayerNormWeights;
  projection: ClipProjectionWeights;
}

export class ClipImageHead {
  constructor(
    readonly weights: ClipImageHeadWeights,
    readonly eps: number,
  ) {}

  /** [B, h, w, C] → [B, C]: the global average (= mask pooling with an all-ones mask). */
  pool(dense: tf.Tensor4D): tf.Tensor2D {
    return tf.mean(dense, [1, 2]);
  }

  /** The head LayerNorm over the last axis, for pooled vectors or per pixel. */
  norm<T extends tf.Tensor>(x: T): T {
    return layerNorm(x, this.weights.norm.weight, this.weights.norm.bias, this.eps) as T;
  }

  /** The projection into the joint embedding space over the last axis. */
  projectNormed<T extends tf.Tensor>(x: T): T {
    const p = this.weights.projection;
    return tf.tidy(() => {
      if (p.kind === 'linear') return linear(x, p.proj.weight, p.proj.bias) as T;
      return linear(geluInference(linear(x, p.fc1.weight, p.fc1.bias)), p.fc2.weight, p.fc2.bias) as T;
    });
  }

  /** Pooled (pre-norm) features [..., C] → CLIP embeddings [..., E] (not L2-normalised). */
  project<T extends tf.Tensor>(pooled: T): T {
    return tf.tidy(() => this.projectNormed(this.norm(pooled)));
  }

  /** Dense map [B, h, w, C] → image embeddings [B, E] (open_clip `encode_image`). */
  forward(dense: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.project(this.pool(dense)));
  }

  dispose(): void {
    tf.dispose(collectTensors(this.weights));
  }
}

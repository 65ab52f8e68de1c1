/**
 * AdamW (torch semantics: decoupled decay p ← p − lr·wd·p, bias-corrected moments, eps outside the
 * square root), poly learning-rate schedule and full-model global-norm gradient clipping
 * (method-spec §6). tfjs has none of the three.
 */
import * as tf from '@tensorflow/tfjs';

export interface OptimizerConfig {
  learningRate: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Max global L2 norm of all gradients (detectron2 CLIP_TYPE full_model). */
  clipNorm: number;
  maxIterations: number;
  polyPower: number;
}

export const DEFAULT_OPTIMIZER: Omit<OptimizerConfig, 'maxIterations'> = {
  learningRate: 1e-4,
  weightDecay: 0.05,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clipNorm: 0.01,
  polyPower: 0.9,
};

/** lr·(1 − it/max)^power (WarmupPolyLR without warmup). */
export function polyLearningRate(cfg: OptimizerConfig, iteration: number): number {
  return cfg.learningRate * Math.pow(Math.max(0, 1 - iteration / cfg.maxIterations), cfg.polyPower);
}

/**
 * AdamW over all parameters at once: gradients and parameters are concatenated into one flat
 * vector, so a step is ~20 kernels instead of ~12 per parameter; the moments live flat too.
 */
export class AdamW {
  readonly config: OptimizerConfig;
  /** Completed optimizer steps (torch's per-parameter `step`, shared). */
  step = 0;
  /** The learning rate the last `apply` used (what the UI plots: never re-derived elsewhere). */
  appliedLearningRate = NaN;
  /** Flat first and second moments, parameters in `names` order. */
  readonly firstMoment: tf.Variable;
  readonly secondMoment: tf.Variable;
  readonly names: string[];
  private readonly params: Map<string, tf.Variable>;
  /** 1 where weight decay applies (not norms, embeddings, queries), flat. */
  private readonly decayMask: tf.Tensor1D;
  private readonly sizes: number[];

  constructor(params: Map<string, tf.Variable>, decay: (name: string) => boolean, config: OptimizerConfig) {
    this.config = config;
    this.params = params;
    this.names = [...params.keys()];
    this.sizes = this.names.map((n) => params.get(n)!.size);
    const total = this.sizes.reduce((a, n) => a + n, 0);
    const mask = new Float32Array(total);
    let o = 0;
    this.names.forEach((n, i) => {
      if (decay(n)) mask.fill(1, o, o + this.sizes[i]);
      o += this.sizes[i];
    });
    this.decayMask = tf.tensor1d(mask);
    this.firstMoment = tf.tidy(() => tf.variable(tf.zeros([total]), false));
    this.secondMoment = tf.tidy(() => tf.variable(tf.zeros([total]), false));
  }

  /** Moments of one parameter, for checkpoints: [offset, size] into the flat vectors. */
  slot(name: string): [number, number] {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`no parameter "${name}" in the optimizer`);
    return [this.sizes.slice(0, i).reduce((a, n) => a + n, 0), this.sizes[i]];
  }

  /**
   * One step for gradients by parameter name (a parameter without one gets a zero gradient: its
   * moments decay and weight decay still applies, as with torch's zero-weighted loss terms).
   * Clips by the global norm first. Returns the pre-clip global norm (a tensor to read later).
   */
  apply(grads: Map<string, tf.Tensor>, iteration: number): tf.Scalar {
    const c = this.config;
    this.step += 1;
    const lr = polyLearningRate(c, iteration);
    this.appliedLearningRate = lr;
    const bc1 = 1 - Math.pow(c.beta1, this.step);
    const bc2 = 1 - Math.pow(c.beta2, this.step);
    return tf.tidy(() => {
      const g = tf.concat(this.names.map((n, i) => tf.reshape(grads.get(n) ?? tf.zeros([this.sizes[i]]), [-1])));
      const norm = tf.sqrt(tf.sum(tf.square(g))) as tf.Scalar;
      // torch clip_grad_norm_: scale by min(1, max_norm / (norm + 1e-6)).
      const clipped = tf.mul(g, tf.minimum(tf.div(c.clipNorm, tf.add(norm, 1e-6)), 1));
      const m = tf.add(tf.mul(this.firstMoment, c.beta1), tf.mul(clipped, 1 - c.beta1));
      const v = tf.add(tf.mul(this.secondMoment, c.beta2), tf.mul(tf.square(clipped), 1 - c.beta2));
      this.firstMoment.assign(m);
      this.secondMoment.assign(v);
      const p = tf.concat(this.names.map((n) => tf.reshape(this.params.get(n)!, [-1])));
      const decayed = tf.mul(p, tf.sub(1, tf.mul(this.decayMask, lr * c.weightDecay)));
      const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), c.eps);
      const updated = tf.sub(decayed, tf.mul(tf.div(m, denom), lr / bc1));
      tf.split(updated, this.sizes).forEach((t, i) => {
        const variable = this.params.get(this.names[i])!;
        variable.assign(tf.reshape(t, variable.shape));
      });
      return norm;
    });
  }

  dispose(): void {
    tf.dispose([this.firstMoment, this.secondMoment, this.decayMask]);
  }
}

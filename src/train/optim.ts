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

export class AdamW {
  readonly config: OptimizerConfig;
  /** Completed optimizer steps (torch's per-parameter `step`, shared). */
  step = 0;
  readonly firstMoment = new Map<string, tf.Variable>();
  readonly secondMoment = new Map<string, tf.Variable>();
  private readonly params: Map<string, tf.Variable>;
  private readonly decay: Map<string, boolean>;

  /** decay(name) tells whether weight decay applies (not to norms, embeddings, queries). */
  constructor(params: Map<string, tf.Variable>, decay: (name: string) => boolean, config: OptimizerConfig) {
    this.config = config;
    this.params = params;
    this.decay = new Map([...params.keys()].map((n) => [n, decay(n)]));
    for (const [name, p] of params) {
      this.firstMoment.set(name, tf.variable(tf.zerosLike(p), false));
      this.secondMoment.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * One step for gradients by parameter name (a parameter without one gets a zero gradient:
   * its moments decay and weight decay still applies, as with torch's zero-weighted loss terms).
   * Clips by the global norm first. Returns the pre-clip global norm (a tensor to read later).
   */
  apply(grads: Map<string, tf.Tensor>, iteration: number): tf.Scalar {
    const c = this.config;
    this.step += 1;
    const lr = polyLearningRate(c, iteration);
    const bc1 = 1 - Math.pow(c.beta1, this.step);
    const bc2 = 1 - Math.pow(c.beta2, this.step);
    return tf.tidy(() => {
      const present = [...grads.values()];
      const norm = tf.sqrt(present.length ? tf.addN(present.map((g) => tf.sum(tf.square(g)))) : tf.scalar(0)) as tf.Scalar;
      // torch clip_grad_norm_: scale by min(1, max_norm / (norm + 1e-6)).
      const clipScale = tf.minimum(tf.div(c.clipNorm, tf.add(norm, 1e-6)), 1);
      for (const [name, p] of this.params) {
        const raw = grads.get(name);
        const g = raw ? tf.mul(raw, clipScale) : tf.zerosLike(p);
        const m = this.firstMoment.get(name)!;
        const v = this.secondMoment.get(name)!;
        const mNew = tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1));
        const vNew = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
        m.assign(mNew);
        v.assign(vNew);
        const decayed = this.decay.get(name) && c.weightDecay > 0 ? tf.mul(p, 1 - lr * c.weightDecay) : p;
        const denom = tf.add(tf.div(tf.sqrt(vNew), Math.sqrt(bc2)), c.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(mNew, denom), lr / bc1)));
      }
      return norm;
    });
  }

  dispose(): void {
    for (const v of [...this.firstMoment.values(), ...this.secondMoment.values()]) v.dispose();
  }
}

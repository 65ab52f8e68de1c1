/**
 * One training iteration of M2F-Lang on frozen trunk features:
 *   1. forward without the tape → matching costs of every layer (+ last step's losses) → ONE readback;
 *   2. Hungarian matching on the CPU per (layer, image);
 *   3. forward + loss under the tape → gradients → global-norm clip → AdamW.
 * The forward runs twice because tfjs's tape cannot stay open across the await of a readback; it
 * costs one extra decoder forward (≈ a third of forward+backward). The step's losses are read
 * with the next step's readback (`previous` in the report) or by `flushLosses()`.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, type RngState } from '../core/rng';
import type { TextClassifier } from '../models/decoder/classHead';
import type { M2FLang, TrunkFeatures } from '../models/decoder/m2fLang';
import { matchingCosts, randomShifts, setCriterionLoss, type CriterionConfig, type LayerMatches, type TargetBatch } from './losses';
import { hungarianMatch } from './matcher';
import { AdamW, type OptimizerConfig } from './optim';

export interface LossReport {
  /** The iteration these losses belong to (0-based). */
  iteration: number;
  total: number;
  classLoss: number;
  maskLoss: number;
  diceLoss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

export interface StepReport {
  /** Iterations completed after this step. */
  iteration: number;
  /** Losses of the step before this one (read in this step's single readback). */
  previous: LossReport | null;
  timings: { forwardAndReadbackMs: number; matchingMs: number; lossAndUpdateMs: number };
}

export interface TrainerOptions {
  criterion: CriterionConfig;
  optimizer: OptimizerConfig;
  /** Seeds the point-sampling RNG (its state is checkpointed). */
  seed: number;
}

export class Trainer {
  readonly model: M2FLang;
  readonly optimizer: AdamW;
  readonly criterion: CriterionConfig;
  classifier: TextClassifier;
  rng: Rng;
  iteration = 0;
  private pending: { iteration: number; values: tf.Tensor1D } | null = null;

  constructor(model: M2FLang, classifier: TextClassifier, options: TrainerOptions) {
    this.model = model;
    this.classifier = classifier;
    this.criterion = options.criterion;
    this.rng = new Rng(options.seed);
    const table = model.params.table;
    this.optimizer = new AdamW(model.variables, (n) => table.get(n)!.decay, options.optimizer);
  }

  get rngState(): RngState {
    return this.rng.state;
  }

  async step(features: TrunkFeatures, targets: TargetBatch): Promise<StepReport> {
    const t0 = performance.now();
    const layers = this.model.config.decoderLayers + 1;
    const b = targets.classes.length;
    const q = this.model.config.numQueries;
    const t = targets.maxTargets;
    const shifts = randomShifts(this.rng, layers * b);
    const costs = tf.tidy(() => matchingCosts(this.model.forward(features, this.classifier), targets, this.criterion, shifts));
    const previous = this.pending;
    const packed = tf.tidy(() => (previous ? tf.concat([tf.reshape(costs, [-1]), previous.values]) : tf.reshape(costs, [-1])));
    costs.dispose();
    const data = await packed.data();
    packed.dispose();
    previous?.values.dispose();
    this.pending = null;
    const t1 = performance.now();

    const matches: LayerMatches[][] = [];
    for (let l = 0; l < layers; l++) {
      const perImage: LayerMatches[] = [];
      for (let i = 0; i < b; i++) {
        const offset = (i * layers + l) * q * t;
        perImage.push(hungarianMatch(data.subarray(offset, offset + q * t), q, targets.classes[i].length, t));
      }
      matches.push(perImage);
    }
    const t2 = performance.now();

    const vars = [...this.model.variables.values()];
    const ourNames = [...this.model.variables.keys()];
    const names = new Map(vars.map((v, k) => [v.name, ourNames[k]]));
    const values = tf.tidy(() => {
      let parts: tf.Scalar[] = [];
      const { grads } = tf.variableGrads(() => {
        const loss = setCriterionLoss(this.model.forward(features, this.classifier), targets, matches, this.criterion, this.rng);
        parts = [loss.classLoss, loss.maskLoss, loss.diceLoss].map((s) => tf.keep(s));
        return loss.total;
      }, vars);
      const byName = new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
      const norm = this.optimizer.apply(byName, this.iteration);
      const [c, m, d] = parts;
      const total = tf.addN([tf.mul(c, this.criterion.classWeight), tf.mul(m, this.criterion.maskWeight), tf.mul(d, this.criterion.diceWeight)]);
      const stacked = tf.stack([total, c, m, d, norm]) as tf.Tensor1D;
      tf.dispose(parts); // kept out of the tape's scope above
      return stacked;
    });
    this.pending = { iteration: this.iteration, values };
    this.iteration += 1;
    return {
      iteration: this.iteration,
      previous: previous ? lossReport(previous.iteration, data.subarray(data.length - 5)) : null,
      timings: { forwardAndReadbackMs: t1 - t0, matchingMs: t2 - t1, lossAndUpdateMs: performance.now() - t2 },
    };
  }

  /** Reads the last step's losses now (an extra readback; use at pauses and for logging). */
  async flushLosses(): Promise<LossReport | null> {
    const p = this.pending;
    if (!p) return null;
    this.pending = null;
    const v = await p.values.data();
    p.values.dispose();
    return lossReport(p.iteration, v);
  }

  dispose(): void {
    this.pending?.values.dispose();
    this.pending = null;
    this.optimizer.dispose();
  }
}

function lossReport(iteration: number, v: ArrayLike<number>): LossReport {
  return { iteration, total: v[0], classLoss: v[1], maskLoss: v[2], diceLoss: v[3], gradNorm: v[4] };
}

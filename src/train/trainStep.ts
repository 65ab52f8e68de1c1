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
import {
  matchingCosts,
  randomShifts,
  setCriterionLoss,
  type CriterionConfig,
  type LayerMatches,
  type TargetBatch,
} from './losses';
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
  /** Per loss term (labeled, then pseudo-labeled) when a step had several; the fields above are their sums. */
  terms?: TermLosses[];
}

interface TermLosses {
  total: number;
  classLoss: number;
  maskLoss: number;
  diceLoss: number;
}

/** One loss term of a step: a forward on its features, matched against its own targets. */
export interface LossTerm {
  features: TrunkFeatures;
  targets: TargetBatch;
  criterion: CriterionConfig;
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
    return this.stepTerms([{ features, targets, criterion: this.criterion }]);
  }

  /**
   * One iteration over several loss terms (Mean Teacher: labeled + pseudo-labeled, fidelity-review
   * §9.2 step 6): each term has its own forward, its own Hungarian matching per layer and its own
   * num_masks; their sum is differentiated in one tape and applied in one AdamW step (one clip).
   */
  async stepTerms(terms: LossTerm[]): Promise<StepReport> {
    const t0 = performance.now();
    const layers = this.model.config.decoderLayers + 1;
    const q = this.model.config.numQueries;
    const shifts = terms.map((term) => randomShifts(this.rng, layers * term.targets.classes.length));
    const costs = terms.map((term, k) =>
      tf.tidy(() =>
        tf.reshape(
          matchingCosts(this.model.forward(term.features, this.classifier), term.targets, term.criterion, shifts[k]),
          [-1],
        ),
      ),
    );
    const previous = this.pending;
    const packed = tf.tidy(() => tf.concat(previous ? [...costs, previous.values] : costs));
    tf.dispose(costs);
    const data = await packed.data();
    packed.dispose();
    previous?.values.dispose();
    this.pending = null;
    const t1 = performance.now();

    let base = 0;
    const matches = terms.map(({ targets }) => {
      const b = targets.classes.length;
      const t = targets.maxTargets;
      const perLayer: LayerMatches[][] = [];
      for (let l = 0; l < layers; l++) {
        const perImage: LayerMatches[] = [];
        for (let i = 0; i < b; i++) {
          const offset = base + (i * layers + l) * q * t;
          perImage.push(hungarianMatch(data.subarray(offset, offset + q * t), q, targets.classes[i].length, t));
        }
        perLayer.push(perImage);
      }
      base += b * layers * q * t;
      return perLayer;
    });
    const t2 = performance.now();

    const vars = [...this.model.variables.values()];
    const ourNames = [...this.model.variables.keys()];
    const names = new Map(vars.map((v, k) => [v.name, ourNames[k]]));
    const values = tf.tidy(() => {
      let parts: tf.Scalar[] = [];
      const { grads } = tf.variableGrads(() => {
        const losses = terms.map((term, k) =>
          setCriterionLoss(
            this.model.forward(term.features, this.classifier),
            term.targets,
            matches[k],
            term.criterion,
            this.rng,
          ),
        );
        parts = losses.flatMap((loss) => [loss.classLoss, loss.maskLoss, loss.diceLoss].map((s) => tf.keep(s)));
        return tf.addN(losses.map((loss) => loss.total)) as tf.Scalar;
      }, vars);
      const byName = new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
      const norm = this.optimizer.apply(byName, this.iteration);
      const perTerm = terms.map(({ criterion: cr }, k) => {
        const [c, m, d] = parts.slice(3 * k, 3 * k + 3);
        return [tf.addN([tf.mul(c, cr.classWeight), tf.mul(m, cr.maskWeight), tf.mul(d, cr.diceWeight)]), c, m, d];
      });
      // [total, class, mask, dice, norm] summed over terms, then [total, class, mask, dice] per term when there are several.
      const sums = [0, 1, 2, 3].map((j) => tf.addN(perTerm.map((p) => p[j])));
      const stacked = tf.stack([...sums, norm, ...(terms.length > 1 ? perTerm.flat() : [])]) as tf.Tensor1D;
      tf.dispose(parts); // kept out of the tape's scope above
      return stacked;
    });
    this.pending = { iteration: this.iteration, values };
    this.iteration += 1;
    return {
      iteration: this.iteration,
      previous: previous ? lossReport(previous.iteration, data.subarray(data.length - previous.values.size)) : null,
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
  const report: LossReport = {
    iteration,
    total: v[0],
    classLoss: v[1],
    maskLoss: v[2],
    diceLoss: v[3],
    gradNorm: v[4],
  };
  if (v.length > 5) {
    report.terms = [];
    for (let k = 5; k + 4 <= v.length; k += 4)
      report.terms.push({ total: v[k], classLoss: v[k + 1], maskLoss: v[k + 2], diceLoss: v[k + 3] });
  }
  return report;
}

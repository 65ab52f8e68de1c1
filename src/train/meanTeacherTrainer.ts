/**
 * One Mean Teacher iteration (fidelity-review §9.2), built from the pieces beneath it:
 *   1. per item, draws on this trainer's RNG: the weak geometry of A and of its CutMix partner B,
 *      a strong photometric draw for each, and B's box;
 *   2. the teacher on the weak views of A and of the partners that have a box (no tape), P_CLIP from
 *      the same forward's res5, one readback → pseudo-labels with P_ENS (α of this iteration);
 *   3. the student's views: strong A with strong B pasted inside the box; mixed pseudo-label targets;
 *   4. one student step over L_sup + L_unl (Trainer.stepTerms), then the teacher's EMA.
 * α can change between iterations; every change is recorded with the iteration it applies from.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng';
import type { TrunkFeatures } from '../models/decoder/m2fLang';
import { tidyAll } from '../models/ops/scope';
import {
  augmentImage,
  defaultAugmentOptions,
  drawAugmentation,
  validRegion,
  type AugmentDraw,
  type AugmentOptions,
} from './augment';
import { cutmixLabels, drawCutmixBox, pasteBox, UPSTREAM_CUTMIX, type CutmixBox, type CutmixOptions } from './cutmix';
import type { TargetBatch } from './losses';
import { emaDecay, MeanTeacher, UPSTREAM_EMA_DECAY, type EmaSchedule } from './meanTeacher';
import { pseudoLabelOfView, teacherOutputs, UPSTREAM_ENSEMBLE_ALPHA, type ClipBranch } from './pseudoLabels';
import {
  drawStrongAugmentation,
  strongAugmentImage,
  UPSTREAM_STRONG_AUGMENT,
  type StrongAugmentOptions,
  type StrongDraw,
} from './strongAugment';
import { uploadTargets } from './targets';
import type { LossReport, Trainer } from './trainStep';

export interface MeanTeacherOptions {
  /** Weight of P_MT in P_ENS at iteration 0 (upstream: 0.4 on CLIP, so 0.6). */
  alpha: number;
  /** 'constant' when the student and teacher start from DeWa weights (DEARLi), 'ramp' from scratch (DEAR). */
  ema: EmaSchedule;
  cutmix: CutmixOptions;
  strong: StrongAugmentOptions;
  /** The weak view: resize, crop, flip, no colour jitter. */
  weak: AugmentOptions;
  /** Which contiguous classes are things (pseudo-label stuff is merged per class). */
  isThing: (classIndex: number) => boolean;
  /** Upstream 0.0 and 0.8. */
  objectMaskThreshold: number;
  overlapThreshold: number;
  /**
   * Pseudo-label masks uploaded per image (static shapes). A label has at most numQueries segments,
   * a CutMixed one at most 2·numQueries, so the default 2·numQueries keeps every one (upstream keeps
   * all); a smaller value is a deviation that keeps the first ones and saves GPU memory.
   */
  maxPseudoTargets: number;
  seed: number;
}

export function meanTeacherOptions(
  cropSize: number,
  numQueries: number,
  isThing: (classIndex: number) => boolean,
  overrides: Partial<MeanTeacherOptions> = {},
): MeanTeacherOptions {
  return {
    alpha: UPSTREAM_ENSEMBLE_ALPHA,
    ema: { kind: 'constant', decay: UPSTREAM_EMA_DECAY },
    cutmix: UPSTREAM_CUTMIX,
    strong: UPSTREAM_STRONG_AUGMENT,
    weak: defaultAugmentOptions(cropSize, false),
    isThing,
    objectMaskThreshold: 0.0,
    overlapThreshold: 0.8,
    maxPseudoTargets: 2 * numQueries,
    seed: 1,
    ...overrides,
  };
}

/** One unlabeled item: image A and its CutMix partner B, RGB 0–255 [H, W, 3] at their stored size. */
export interface UnlabeledItem {
  image: tf.Tensor3D;
  partner: tf.Tensor3D;
}

/** The frozen CLIP trunk: crops [B, crop, crop, 3] RGB 0–255 → res2..res5 (normalisation is the trunk's job). */
export type FrozenTrunk = (images: tf.Tensor4D) => TrunkFeatures;

export interface AlphaChange {
  /** First iteration (0-based) that uses this α. */
  iteration: number;
  alpha: number;
  /**
   * Where α came from: the run's config (the starting α), the user's slider, the best α of the user's
   * sweep, or the adaptive mode's sweep (beyond the paper).
   */
  source: AlphaSource;
}

export const ALPHA_SOURCES = ['config', 'slider', 'sweep', 'adaptive'] as const;
export type AlphaSource = (typeof ALPHA_SOURCES)[number];

/** An α change as stored, lab 0.1's included (its starting α had no source and the slider was "manual"). */
export function storedAlphaChange(c: { iteration: number; alpha: number; source?: string }): AlphaChange {
  const source = c.source === undefined ? 'config' : c.source === 'manual' ? 'slider' : (c.source as AlphaSource);
  return { iteration: c.iteration, alpha: c.alpha, source };
}

export interface MeanTeacherStepReport {
  iteration: number;
  alpha: number;
  emaDecay: number;
  /** Losses of the previous iteration: terms[0] labeled, terms[1] pseudo-labeled. */
  previous: LossReport | null;
  /** Items of this iteration that were CutMixed. */
  cutmixed: number;
  /** Segments in the teacher's pseudo-label of each unlabeled image A (before CutMix): 0 means "no object" for every query. */
  pseudoSegments: number[];
  timings: { teacherMs: number; pseudoLabelsMs: number; studentMs: number; matchingMs: number };
}

interface ItemDraw {
  weakA: AugmentDraw;
  strongA: StrongDraw;
  weakB: AugmentDraw;
  strongB: StrongDraw;
  box: CutmixBox | null;
}

export class MeanTeacherTrainer {
  readonly student: Trainer;
  readonly teacher: MeanTeacher;
  readonly options: MeanTeacherOptions;
  rng: Rng;
  alphaHistory: AlphaChange[];
  private readonly trunk: FrozenTrunk;
  private readonly clip: ClipBranch;

  /** The teacher starts as a copy of the student's current weights (load DeWa weights into the student first for DEARLi). */
  constructor(student: Trainer, trunk: FrozenTrunk, clip: ClipBranch, options: MeanTeacherOptions) {
    this.student = student;
    this.teacher = new MeanTeacher(student.model);
    this.trunk = trunk;
    this.clip = clip;
    this.options = options;
    this.rng = new Rng(options.seed);
    this.alphaHistory = [{ iteration: 0, alpha: options.alpha, source: 'config' }];
  }

  get iteration(): number {
    return this.student.iteration;
  }

  get alpha(): number {
    return this.alphaHistory[this.alphaHistory.length - 1].alpha;
  }

  /** Applies from the next iteration; recorded in the history. */
  setAlpha(alpha: number, source: Exclude<AlphaSource, 'config'>): void {
    if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`α must lie in [0, 1], got ${alpha}`);
    this.alphaHistory.push({ iteration: this.iteration, alpha, source });
  }

  async step(
    labeled: { features: TrunkFeatures; targets: TargetBatch },
    unlabeled: UnlabeledItem[],
  ): Promise<MeanTeacherStepReport> {
    const o = this.options;
    const crop = this.student.model.config.cropSize;
    const alpha = this.alpha;
    const draws: ItemDraw[] = unlabeled.map(({ image, partner }) => {
      const weakA = drawAugmentation(this.rng, image.shape[0], image.shape[1], o.weak);
      const strongA = drawStrongAugmentation(this.rng, o.strong);
      const weakB = drawAugmentation(this.rng, partner.shape[0], partner.shape[1], o.weak);
      const strongB = drawStrongAugmentation(this.rng, o.strong);
      return { weakA, strongA, weakB, strongB, box: drawCutmixBox(this.rng, validRegion(weakB, crop), o.cutmix) };
    });
    const mixed = draws.flatMap((d, i) => (d.box ? [i] : []));
    const t0 = performance.now();

    const weakA = unlabeled.map((u, i) => augmentImage(u.image, draws[i].weakA, crop));
    const weakB = mixed.map((i) => augmentImage(unlabeled[i].partner, draws[i].weakB, crop));
    const teacherFeatures = tidyAll(() => this.trunk(tf.stack([...weakA, ...weakB]) as tf.Tensor4D));
    const out = await teacherOutputs(this.teacher.model, teacherFeatures, this.student.classifier, this.clip);
    tf.dispose(Object.values(teacherFeatures));
    const t1 = performance.now();

    const labelOptions = {
      isThing: o.isThing,
      alpha,
      objectMaskThreshold: o.objectMaskThreshold,
      overlapThreshold: o.overlapThreshold,
    };
    const pseudoSegments: number[] = [];
    const pseudo = draws.map((d, i) => {
      const a = pseudoLabelOfView(out, i, crop, labelOptions);
      pseudoSegments.push(a.segments.length);
      const j = mixed.indexOf(i);
      const b = j >= 0 ? pseudoLabelOfView(out, unlabeled.length + j, crop, labelOptions) : null;
      return cutmixLabels(a, b, d.box, crop).targets;
    });
    const pseudoTargets = uploadTargets(pseudo, o.maxPseudoTargets);
    const t2 = performance.now();

    const studentViews = tidyAll(() => {
      const views = draws.map((d, i) => {
        const strongA = strongAugmentImage(weakA[i], validRegion(d.weakA, crop), d.strongA);
        if (!d.box) return strongA;
        const strongB = strongAugmentImage(weakB[mixed.indexOf(i)], validRegion(d.weakB, crop), d.strongB);
        return pasteBox(strongA, strongB, d.box);
      });
      return this.trunk(tf.stack(views) as tf.Tensor4D);
    });
    tf.dispose([...weakA, ...weakB]);
    const report = await this.student.stepTerms([
      { features: labeled.features, targets: labeled.targets, criterion: this.student.criterion },
      { features: studentViews, targets: pseudoTargets, criterion: this.student.criterion },
    ]);
    tf.dispose([...Object.values(studentViews), pseudoTargets.masks]);
    // EMA after the optimizer step, from the updated student (upstream hook order).
    const decay = emaDecay(o.ema, this.student.iteration - 1);
    this.teacher.update(this.student.model, decay);
    return {
      iteration: this.student.iteration,
      alpha,
      emaDecay: decay,
      previous: report.previous,
      cutmixed: mixed.length,
      pseudoSegments,
      timings: {
        teacherMs: t1 - t0,
        pseudoLabelsMs: t2 - t1,
        studentMs: performance.now() - t2,
        matchingMs: report.timings.matchingMs,
      },
    };
  }

  dispose(): void {
    this.teacher.dispose();
  }
}

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { Rng } from '../core/rng';
import { buildTextClassifier, disposeTextClassifier } from '../models/decoder/classHead';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang, type TrunkFeatures } from '../models/decoder/m2fLang';
import {
  criterionConfig,
  matchingCosts,
  randomShifts,
  setCriterionLoss,
  type LayerMatches,
  type TargetBatch,
} from './losses';
import { hungarianMatch } from './matcher';
import { DEFAULT_OPTIMIZER } from './optim';
import { uploadTargets } from './targets';
import { Trainer } from './trainStep';

beforeAll(async () => {
  await setupTestBackend();
});

const config = decoderPreset('tiny', { numQueries: 4, decoderLayers: 1, cropSize: 32, trainPoints: 16 });

function features(batch: number, seed: number): TrunkFeatures {
  return Object.fromEntries(
    (['res2', 'res3', 'res4', 'res5'] as const).map((k, i) => [
      k,
      tf.randomNormal([batch, 8 >> i, 8 >> i, config.trunkChannels[i]], 0, 1, 'float32', seed + i) as tf.Tensor4D,
    ]),
  ) as unknown as TrunkFeatures;
}

describe('Trainer.stepTerms (L_sup + L_unl)', () => {
  it('each term has its own matching and num_masks; the reported terms equal each loss computed on its own', async () => {
    const classifier = buildTextClassifier(
      Float32Array.from({ length: 2 * config.embedDim }, (_, i) => Math.cos(i)),
      config.embedDim,
      [0, 1],
      2,
    );
    const criterion = criterionConfig(2, config);
    const half = new Uint8Array(2 * 32 * 32).map((_, i) => (i % 32 < 16 !== i >= 1024 ? 1 : 0));
    // Labeled: 1 image with 2 targets; pseudo-labeled: 2 images with 1 and 3 targets (num_masks 2 and 4).
    const labeled = {
      features: features(1, 1),
      targets: uploadTargets([{ width: 32, height: 32, masks: half, classes: Int32Array.from([0, 1]) }], 2),
      criterion,
    };
    const quarters = new Uint8Array(3 * 32 * 32).map((_, i) =>
      Math.floor((i % 1024) / 256) === Math.floor(i / 1024) ? 1 : 0,
    );
    const pseudo = {
      features: features(2, 11),
      targets: uploadTargets(
        [
          { width: 32, height: 32, masks: half.subarray(0, 1024), classes: Int32Array.from([1]) },
          { width: 32, height: 32, masks: quarters, classes: Int32Array.from([1, 0, 1]) },
        ],
        3,
      ),
      criterion,
    };
    const trainer = new Trainer(new M2FLang(config, 5), classifier, {
      criterion,
      optimizer: { ...DEFAULT_OPTIMIZER, maxIterations: 10 },
      seed: 8,
    });
    const reference = new M2FLang(config, 5);

    // Independently, on the same weights and the same random stream: shifts of both terms, then each term's loss.
    const rng = new Rng(8);
    const layers = config.decoderLayers + 1;
    const shifts = [labeled, pseudo].map((t) => randomShifts(rng, layers * t.targets.classes.length));
    const matchesOf = async (targets: TargetBatch, s: Float32Array): Promise<LayerMatches[][]> => {
      const costs = tf.tidy(() =>
        matchingCosts(
          reference.forward(targets === labeled.targets ? labeled.features : pseudo.features, classifier),
          targets,
          criterion,
          s,
        ),
      );
      const data = (await costs.data()) as Float32Array;
      costs.dispose();
      const q = config.numQueries;
      const t = targets.maxTargets;
      return Array.from({ length: layers }, (_, l) =>
        targets.classes.map((cls, i) =>
          hungarianMatch(data.subarray((i * layers + l) * q * t, (i * layers + l + 1) * q * t), q, cls.length, t),
        ),
      );
    };
    const matches = [await matchesOf(labeled.targets, shifts[0]), await matchesOf(pseudo.targets, shifts[1])];
    const expected = [labeled, pseudo].map((term, k) =>
      tf.tidy(() => {
        const l = setCriterionLoss(
          reference.forward(term.features, classifier),
          term.targets,
          matches[k],
          criterion,
          rng,
        );
        return tf.stack([l.total, l.classLoss, l.maskLoss, l.diceLoss]).dataSync();
      }),
    );

    await trainer.stepTerms([labeled, pseudo]);
    const report = (await trainer.flushLosses())!;
    expect(report.terms).toHaveLength(2);
    report.terms!.forEach((t, k) => {
      [t.total, t.classLoss, t.maskLoss, t.diceLoss].forEach((v, j) => expect(v).toBeCloseTo(expected[k][j], 4));
    });
    expect(report.total).toBeCloseTo(expected[0][0] + expected[1][0], 4);
    expect(Array.from(trainer.rng.state)).toEqual(Array.from(rng.state));

    trainer.dispose();
    trainer.model.dispose();
    reference.dispose();
    disposeTextClassifier(classifier);
    tf.dispose([
      labeled.targets.masks,
      pseudo.targets.masks,
      ...Object.values(labeled.features),
      ...Object.values(pseudo.features),
    ]);
  });
});

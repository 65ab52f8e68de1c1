import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { takeGpuError } from '../models/backend';
import { buildTextClassifier, disposeTextClassifier } from '../models/decoder/classHead';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { criterionConfig } from './losses';
import { meanTeacherOptions, MeanTeacherTrainer } from './meanTeacherTrainer';
import { DEFAULT_OPTIMIZER } from './optim';
import { adjustHue, strongAugmentImage } from './strongAugment';
import { uploadTargets } from './targets';
import { clipTrunk, tinyClip } from '../../test/trainingSupport';
import { Trainer } from './trainStep';

beforeAll(async () => {
  await setupTestBackend();
});

describe('Mean Teacher on WebGPU', () => {
  it('strong colour ops give the hand values (bool masks in the HSV round trip) and keep the padding', async () => {
    const hue = adjustHue(tf.tensor3d([255, 0, 0, 200, 100, 0, 40, 40, 40], [1, 3, 3]), 1 / 3);
    const got = Array.from(await hue.data());
    [0, 255, 0, 0, 200, 100, 40, 40, 40].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 2));
    const weak = tf.tensor3d(
      Array.from({ length: 4 * 4 * 3 }, (_, i) => (i % 12 < 6 ? 90 : 128)),
      [4, 4, 3],
    );
    const strong = strongAugmentImage(
      weak,
      { x0: 0, width: 2, height: 3 },
      {
        order: ['saturation', 'hue', 'contrast', 'brightness'],
        brightness: 0.5,
        contrast: 1,
        saturation: 1,
        hue: 0.1,
        grayscale: true,
        blurSigma: 0.8,
      },
    );
    const s = (await strong.array()) as number[][][];
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++)
        for (let c = 0; c < 3; c++) expect(s[y][x][c]).toBeCloseTo(y < 3 && x < 2 ? 45 : x < 2 ? 90 : 128, 3);
    expect(takeGpuError()).toBeNull();
    tf.dispose([hue, weak, strong]);
  });

  it('runs a Mean Teacher step with finite losses and no GPU validation error', async () => {
    const config = decoderPreset('tiny', {
      numQueries: 4,
      decoderLayers: 1,
      cropSize: 32,
      trainPoints: 16,
      embedDim: 32,
    });
    const clip = await tinyClip();
    const classifier = buildTextClassifier(
      Float32Array.from({ length: 3 * 32 }, (_, i) => Math.sin(0.7 * i)),
      32,
      [0, 1, 2],
      3,
    );
    const model = new M2FLang(config, 1);
    const student = new Trainer(model, classifier, {
      criterion: criterionConfig(3, config),
      optimizer: { ...DEFAULT_OPTIMIZER, maxIterations: 1 },
      seed: 3,
    });
    const options = meanTeacherOptions(32, 4, (c) => c === 0, {
      cutmix: { probability: 1, areaRange: [0.02, 0.4], ratioRange: [0.3, 1 / 0.3], maxTries: 1000 },
    });
    const t = new MeanTeacherTrainer(
      student,
      clipTrunk(clip),
      { head: clip.imageHead, logitScale: Math.log(100) },
      options,
    );
    const features = Object.fromEntries(
      (['res2', 'res3', 'res4', 'res5'] as const).map((k, l) => [
        k,
        tf.randomNormal([1, 8 >> l, 8 >> l, config.trunkChannels[l]], 0, 1, 'float32', l + 1) as tf.Tensor4D,
      ]),
    ) as never;
    const mask = new Uint8Array(2 * 32 * 32).map((_, p) => (p % 32 < 16 !== p >= 1024 ? 1 : 0));
    const targets = uploadTargets([{ width: 32, height: 32, masks: mask, classes: Int32Array.from([0, 1]) }], 2);
    const image = (h: number, w: number, phase: number) =>
      tf.tensor3d(
        Float32Array.from({ length: h * w * 3 }, (_, p) => 127.5 + 127.5 * Math.sin(0.05 * p + phase)),
        [h, w, 3],
      );
    const unlabeled = [{ image: image(40, 48, 0), partner: image(36, 30, 1) }];
    // One step (SwiftShader is slow) runs every path: CutMix is certain here.
    const { cutmixed } = await t.step({ features, targets }, unlabeled);
    const loss = await student.flushLosses();
    expect(takeGpuError()).toBeNull();
    expect(cutmixed).toBe(1);
    expect(loss!.terms!.every((term) => Number.isFinite(term.total))).toBe(true);
    t.dispose();
    student.dispose();
    model.dispose();
    disposeTextClassifier(classifier);
    clip.dispose();
    tf.dispose([
      targets.masks,
      ...Object.values(features as Record<string, tf.Tensor>),
      unlabeled[0].image,
      unlabeled[0].partner,
    ]);
  });
});

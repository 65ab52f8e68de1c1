import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledShaderKeys, setupTestBackend } from '../../test/backend';
import { takeGpuError } from '../models/backend';
import { buildTextClassifier, disposeTextClassifier } from '../models/decoder/classHead';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { createTrainer, type DecoderStageKind } from './createTrainer';
import type { LossReport } from './trainStep';
import { uploadTargets } from './targets';

const config = decoderPreset('tiny', { numQueries: 4, decoderLayers: 2, cropSize: 32, trainPoints: 16 });
const RELATIVE_TOLERANCE = 1e-4;
const LEARNING_RATE = 1e-4;
/**
 * AdamW's first step moves a weight by lr·g/(|g| + eps), eps = 1e-8. After the 0.01 global-norm
 * clip, gradients of elements near zero (zero-initialised biases and sampling offsets; attention key
 * biases, whose true gradient is 0 as softmax ignores a shift of a whole row) are ~1e-10 to 1e-8,
 * and there the two backends' float32 sums (other orders, atomics on WebGPU) differ by ~1e-11, which
 * the division by |g| + eps turns into up to ~1e-3·lr. So 1e-3·lr is allowed on top of the relative
 * 1e-4; a wrong gradient moves a weight by up to 2·lr, far beyond it.
 */
const ABSOLUTE_FLOOR = 1e-3 * LEARNING_RATE;

interface StepResult {
  losses: LossReport;
  weights: Map<string, Float32Array>;
}

/** One training step from the same seed and inputs (built from plain arrays) on `backend`. */
async function oneStep(backend: 'cpu' | 'webgpu', kind: DecoderStageKind): Promise<StepResult> {
  await tf.setBackend(backend);
  const model = new M2FLang(config, 7);
  const classifier = buildTextClassifier(
    Float32Array.from({ length: 3 * config.embedDim }, (_, i) => Math.sin(i)),
    config.embedDim,
    kind === 'dewa' ? [0, 0, 0] : [0, 1, 1],
    kind === 'dewa' ? 1 : 2,
  );
  const trainer = createTrainer(kind, model, classifier, 10, 3, { learningRate: LEARNING_RATE });
  const features = Object.fromEntries(
    (['res2', 'res3', 'res4', 'res5'] as const).map((k, level) => {
      const shape = [2, 8 >> level, 8 >> level, config.trunkChannels[level]];
      const values = Float32Array.from(
        { length: shape.reduce((a, b) => a * b) },
        (_, i) => Math.sin(0.37 * i + level) + 0.3 * Math.cos(1.3 * i),
      );
      return [k, tf.tensor4d(values, shape as [number, number, number, number])];
    }),
  ) as never;
  // two images: left/right halves, and a disc on the background
  const half = new Uint8Array(2 * 32 * 32).map((_, i) => (i % 32 < 16 !== i >= 1024 ? 1 : 0));
  const disc = new Uint8Array(2 * 32 * 32).map((_, i) =>
    ((i % 32) - 12) ** 2 + (((i >> 5) % 32) - 18) ** 2 < 64 !== i >= 1024 ? 1 : 0,
  );
  const classes = Int32Array.from(kind === 'dewa' ? [0, 0] : [0, 1]);
  const targets = uploadTargets(
    [
      { width: 32, height: 32, masks: half, classes },
      { width: 32, height: 32, masks: disc, classes },
    ],
    3,
  );
  await trainer.step(features, targets);
  const losses = (await trainer.flushLosses())!;
  const weights = new Map<string, Float32Array>();
  for (const [name, v] of model.variables) weights.set(name, (await v.data()) as Float32Array);
  trainer.dispose();
  model.dispose();
  disposeTextClassifier(classifier);
  tf.dispose([targets.masks, ...Object.values(features as Record<string, tf.Tensor>)]);
  return { losses, weights };
}

/** The element furthest beyond |a − b| ≤ 1e-4·max(|a|, |b|) + ABSOLUTE_FLOOR (excess > 1 fails), for the message. */
function worstExcess(a: ArrayLike<number>, b: ArrayLike<number>): { at: number; excess: number } {
  let worst = { at: -1, excess: 0 };
  for (let i = 0; i < a.length; i++) {
    const excess =
      Math.abs(a[i] - b[i]) / (RELATIVE_TOLERANCE * Math.max(Math.abs(a[i]), Math.abs(b[i])) + ABSOLUTE_FLOOR);
    if (!(excess <= worst.excess)) worst = { at: i, excess };
  }
  return worst;
}

beforeAll(async () => {
  await setupTestBackend();
});

afterAll(async () => {
  await tf.setBackend('webgpu');
});

describe('a training step on WebGPU equals the same step on tfjs-cpu', () => {
  // The gradient norm (before clipping) compares the gradients themselves: the first AdamW step is
  // about lr·sign(g), which a gradient wrong in size but not in sign would leave unchanged.
  // Supervised only: DeWa runs the same kernels (class weight 0), and each step costs tens of seconds on SwiftShader.
  it.each(['supervised'] as const)(
    '%s: losses, gradient norm and every weight after one AdamW step agree within 1e-4 relative',
    async (kind) => {
      const cpu = await oneStep('cpu', kind);
      const gpu = await oneStep('webgpu', kind);
      expect(takeGpuError()).toBeNull();
      // The WebGPU step sampled (deformable attention, the losses' points) with the sampling kernels.
      for (const kernel of ['forward', 'gradient', 'table_gradient'])
        expect(compiledShaderKeys().some((k) => k.startsWith(`dearli_sample_${kernel}_`))).toBe(true);
      for (const key of ['total', 'classLoss', 'maskLoss', 'diceLoss', 'gradNorm'] as const) {
        expect(Number.isFinite(cpu.losses[key])).toBe(true);
        expect(
          Math.abs(gpu.losses[key] - cpu.losses[key]),
          `${key}: cpu ${cpu.losses[key]}, webgpu ${gpu.losses[key]}`,
        ).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.abs(cpu.losses[key]));
      }
      expect([...gpu.weights.keys()]).toEqual([...cpu.weights.keys()]);
      const offenders: string[] = [];
      for (const [name, expected] of cpu.weights) {
        const actual = gpu.weights.get(name)!;
        const { at, excess } = worstExcess(expected, actual);
        if (excess > 1)
          offenders.push(
            `${name}[${at}]: cpu ${expected[at]}, webgpu ${actual[at]} (${excess.toFixed(1)}x the tolerance)`,
          );
      }
      expect(offenders).toEqual([]);
    },
  );
});

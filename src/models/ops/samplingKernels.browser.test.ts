/**
 * The sampling kernels (samplingKernels.ts) on WebGPU against the composed gather path on tfjs cpu, in
 * the same page: values and the gradients with respect to the table, the points and the weights.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { compiledShaderKeys, setupTestBackend, worstRelativeError } from '../../../test/backend';
import { takeGpuError } from '../backend';
import { bilinearTaps, gatherBilinear, samplePlanes } from './sampling';
import { bilinearSampleWeighted, type SamplingLayout } from './samplingKernels';

/** float32 sums of tens of O(1) products, the two sides in other orders (atomics on WebGPU). */
const TOLERANCE = 1e-5;

beforeAll(async () => {
  await setupTestBackend();
});

afterEach(async () => {
  expect(takeGpuError()).toBeNull();
  await tf.setBackend('webgpu');
});

interface Case {
  table: Float32Array;
  rowBase: Int32Array;
  x: Float32Array;
  y: Float32Array;
  weight: Float32Array;
  /** ∂L/∂out, so L = Σ out · coefficient. */
  coefficient: Float32Array;
}

/** Values and gradients [out, ∂table, ∂x, ∂y, ∂weight] of L = Σ out · coefficient, as plain arrays. */
async function valuesAndGradients(
  c: Case,
  rows: number,
  channels: number,
  groups: number,
  layout: SamplingLayout,
  sample: (table: tf.Tensor2D, rowBase: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D,
): Promise<Float32Array[]> {
  const samples = layout.levels.length * layout.pointsPerLevel;
  const table = tf.tensor2d(c.table, [rows, channels]);
  const rowBase = tf.tensor1d(c.rowBase, 'int32');
  const points = [c.x, c.y, c.weight].map((v) => tf.tensor2d(v, [groups, samples]));
  const coefficient = tf.tensor2d(c.coefficient, [groups, channels]);
  const before = tf.memory().numTensors;
  const f = (t: tf.Tensor, x: tf.Tensor, y: tf.Tensor, w: tf.Tensor) =>
    tf.sum(
      tf.mul(sample(t as tf.Tensor2D, rowBase, x as tf.Tensor2D, y as tf.Tensor2D, w as tf.Tensor2D), coefficient),
    );
  const out = tf.tidy(() => sample(table, rowBase, points[0], points[1], points[2]));
  const grads = tf.grads(f)([table, ...points]);
  expect(tf.memory().numTensors).toBe(before + 1 + grads.length);
  const arrays = await Promise.all([out, ...grads].map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([out, ...grads, table, rowBase, ...points, coefficient]);
  return arrays;
}

/** The same sums from bilinearTaps and gathers (the composed path every backend has). */
function composed(layout: SamplingLayout) {
  const perSample = (f: (l: { height: number; width: number; start: number }) => number, dtype: 'float32' | 'int32') =>
    tf.tensor(
      layout.levels.flatMap((l) => Array<number>(layout.pointsPerLevel).fill(f(l))),
      [1, layout.levels.length * layout.pointsPerLevel],
      dtype,
    );
  return (table: tf.Tensor2D, rowBase: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Tensor2D) =>
    tf.tidy(() => {
      const offsets = tf.add(
        tf.reshape(rowBase, [-1, 1]),
        perSample((l) => l.start, 'int32'),
      );
      const heights = perSample((l) => l.height, 'float32');
      const widths = perSample((l) => l.width, 'float32');
      const sampled = gatherBilinear(table, bilinearTaps(x, y, heights, widths, offsets));
      const [g, s] = x.shape;
      return tf.sum(tf.mul(tf.reshape(sampled, [g, s, -1]), tf.expandDims(w, -1)), 1) as tf.Tensor2D;
    });
}

describe('bilinear sampling kernels on WebGPU', () => {
  const rng = new Rng(17);
  const random = (length: number, lo: number, hi: number) =>
    Float32Array.from({ length }, () => lo + (hi - lo) * rng.next());

  // Deformable attention's shape: 2 (batch·head) blocks of 3 levels, 3 queries each, 2 points per level;
  // points up to 30 % outside the planes (zero padding) and exactly on the last pixel's far edge.
  it('matches the composed path in value and in every gradient, without leaking tensors', async () => {
    const layout: SamplingLayout = {
      levels: [
        { height: 4, width: 5, start: 0 },
        { height: 2, width: 3, start: 20 },
        { height: 1, width: 2, start: 26 },
      ],
      pointsPerLevel: 2,
    };
    const rowsPerBlock = 28;
    const channels = 6;
    const groups = 6;
    const samples = 6;
    const x = random(groups * samples, -0.3, 1.3);
    x[0] = 1;
    const c: Case = {
      table: random(2 * rowsPerBlock * channels, -1, 1),
      rowBase: Int32Array.from({ length: groups }, (_, g) => Math.floor(g / 3) * rowsPerBlock),
      x,
      y: random(groups * samples, -0.3, 1.3),
      weight: random(groups * samples, 0, 1),
      coefficient: random(groups * channels, -1, 1),
    };
    const args = [2 * rowsPerBlock, channels, groups, layout] as const;
    const fused = await valuesAndGradients(c, ...args, (t, r, xs, ys, w) =>
      bilinearSampleWeighted(t, r, xs, ys, w, layout),
    );
    expect(compiledShaderKeys().some((k) => k.startsWith('dearli_sample_table_gradient'))).toBe(true);
    await tf.setBackend('cpu');
    const reference = await valuesAndGradients(c, ...args, composed(layout));
    const names = ['value', '∂table', '∂x', '∂y', '∂weight'];
    names.forEach((name, i) => expect(worstRelativeError(fused[i], reference[i]), name).toBeLessThan(TOLERANCE));
    // The gradients are not trivially zero.
    for (const g of reference.slice(1)) expect(g.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it('samplePlanes on WebGPU equals the cpu gathers, with a plane index and row by row', async () => {
    const planes = random(5 * 6 * 7, -2, 2);
    const x = random(3 * 4, -0.2, 1.2);
    const y = random(3 * 4, -0.2, 1.2);
    const rows = random(5 * 2, 0, 1);
    const run = async () => {
      const p = tf.tensor3d(planes, [5, 6, 7]);
      const px = tf.tensor(x, [1, 3, 1, 4]);
      const py = tf.tensor(y, [1, 3, 1, 4]);
      const index = tf.tensor([0, 4, 2, 1, 3, 0], [2, 3, 1, 1], 'int32');
      const rowX = tf.tensor(rows, [5, 2]);
      const [value, grad] = [
        samplePlanes(p, px, py, index),
        tf.grad((t: tf.Tensor) => tf.sum(tf.square(samplePlanes(t as tf.Tensor3D, px, py, index))))(p),
      ];
      const rowByRow = samplePlanes(p, rowX, rowX);
      const out = await Promise.all([value, grad, rowByRow].map((t) => t.data() as Promise<Float32Array>));
      expect(value.shape).toEqual([2, 3, 1, 4]);
      tf.dispose([p, px, py, index, rowX, value, grad, rowByRow]);
      return out;
    };
    const fused = await run();
    await tf.setBackend('cpu');
    const reference = await run();
    fused.forEach((f, i) => expect(worstRelativeError(f, reference[i])).toBeLessThan(TOLERANCE));
  });
});

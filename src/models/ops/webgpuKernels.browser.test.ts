/**
 * The short-axis Sum, Mean, Max and Softmax kernels that replace tfjs-webgpu's (webgpuKernels.ts),
 * against plain-JS references, on both sides of the short/long threshold; and their gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { compiledShaderKeys, setupTestBackend, worstRelativeError } from '../../../test/backend';
import { takeGpuError } from '../backend';
import { SHORT_REDUCTION } from './webgpuKernels';

type Op = 'sum' | 'mean' | 'max';

/** Reference reduction over a contiguous block of axes [first, first + count). */
function reduceReference(op: Op, data: Float32Array, shape: number[], first: number, count: number): Float32Array {
  const outer = shape.slice(0, first).reduce((a, d) => a * d, 1);
  const reduced = shape.slice(first, first + count).reduce((a, d) => a * d, 1);
  const inner = shape.slice(first + count).reduce((a, d) => a * d, 1);
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'max' ? -Infinity : 0;
      for (let r = 0; r < reduced; r++) {
        const v = data[(o * reduced + r) * inner + i];
        acc = op === 'max' ? Math.max(acc, v) : acc + v;
      }
      out[o * inner + i] = op === 'mean' ? acc / reduced : acc;
    }
  }
  return out;
}

function softmaxReference(data: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let base = 0; base < data.length; base += cols) {
    const row = data.subarray(base, base + cols);
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    e.forEach((v, i) => (out[base + i] = v / s));
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  expect(worstRelativeError(actual, expected)).toBeLessThan(tol);
}

beforeAll(async () => {
  await setupTestBackend();
});

afterEach(() => {
  expect(takeGpuError()).toBeNull();
});

describe('short-axis WebGPU kernels', () => {
  const rng = new Rng(11);
  const random = (shape: number[], scale = 1) =>
    Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => scale * rng.normal());

  // [shape, first reduced axis, reduced axis count]: inner axes, trailing size-1 axes, several axes,
  // the last axis, at and just over the threshold (stock kernel), rows not a multiple of the workgroup.
  const cases: [number[], number, number][] = [
    [[97, 4, 1], 1, 1],
    [[3, 5, 7], 1, 1],
    [[2, 3, 4, 6], 1, 2],
    [[130, 12], 1, 1],
    [[9, SHORT_REDUCTION], 1, 1],
    [[9, SHORT_REDUCTION + 1], 1, 1],
  ];
  for (const op of ['sum', 'mean', 'max'] as const) {
    it.each(cases)(`${op} over %j from axis %i (%i axes), with and without keepDims`, async (shape, first, count) => {
      const data = random(shape);
      const x = tf.tensor(data, shape);
      const axes = Array.from({ length: count }, (_, i) => first + i);
      const expected = reduceReference(op, data, shape, first, count);
      for (const keepDims of [false, true]) {
        const y = tf[op](x, axes, keepDims);
        expect(y.shape).toEqual(
          keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i)),
        );
        expectClose(await y.data(), expected, 1e-5);
        y.dispose();
      }
      x.dispose();
      if (expected.length * SHORT_REDUCTION >= data.length)
        expect(compiledShaderKeys().some((k) => k.includes(`dearli_strided_${op}`))).toBe(true);
    });
  }

  it.each([[[5, 1]], [[2, 65, 7]], [[3, SHORT_REDUCTION]], [[4, SHORT_REDUCTION + 1]]])(
    'softmax over the last axis of %j, with logits of ±200',
    async (shape) => {
      const data = random(shape, 80);
      const x = tf.tensor(data, shape);
      const y = tf.softmax(x);
      expectClose(await y.data(), softmaxReference(data, shape[shape.length - 1]), 1e-5);
      expect(compiledShaderKeys().some((k) => k.includes('dearli_row_softmax'))).toBe(true);
      tf.dispose([x, y]);
    },
  );

  it('keeps int32 sums and the gradients of the replaced kernels', async () => {
    const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const s = tf.sum(ints, 1);
    expect(s.dtype).toBe('int32');
    expect(Array.from(await s.data())).toEqual([6, 15]);
    const data = random([6, 5]);
    const x = tf.tensor2d(data, [6, 5]);
    const w = tf.tensor2d(random([6, 5]), [6, 5]);
    // d/dx Σ w·softmax(x) = s ⊙ (w − Σ w⊙s) per row; sum/mean/max gradients by their definitions
    const grads = tf.grads((a: tf.Tensor) =>
      tf.add(tf.add(tf.sum(tf.mul(w, tf.softmax(a))), tf.sum(tf.mean(a, 1))), tf.sum(tf.max(a, 1))),
    );
    const [g] = grads([x]);
    const sm = softmaxReference(data, 5);
    const wv = await w.data();
    const expected = new Float32Array(30);
    for (let r = 0; r < 6; r++) {
      let dot = 0;
      for (let c = 0; c < 5; c++) dot += wv[r * 5 + c] * sm[r * 5 + c];
      const row = Array.from(data.subarray(r * 5, r * 5 + 5));
      const argmax = row.indexOf(Math.max(...row));
      for (let c = 0; c < 5; c++)
        expected[r * 5 + c] = sm[r * 5 + c] * (wv[r * 5 + c] - dot) + 1 / 5 + (c === argmax ? 1 : 0);
    }
    expectClose(await g.data(), expected, 1e-5);
    tf.dispose([ints, s, x, w, g]);
  });
});

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import './cpuKernels';
import { interpolationMatrixValues } from './resize';

beforeAll(async () => {
  await setupTestBackend();
});

/** Deterministic values in [-2, 2) with exact zeros at the chosen share of positions. */
function values(n: number, seed: number, zeroEvery = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = zeroEvery && i % zeroEvery !== 0 ? 0 : (s / 2 ** 32) * 4 - 2;
  }
  return out;
}

/** Row-major element offset of `loc` in `shape`. */
const offset = (shape: number[], loc: number[]) => shape.reduce((o, d, k) => o * d + loc[k], 0);

function locOf(shape: number[], i: number): number[] {
  const loc = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    loc[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return loc;
}

describe('cpu matMul: four rows at a time, zero steps skipped', () => {
  /** Σ_p a[i,p]·b[p,j] in float64 in ascending p, rounded once: what the kernel must return exactly. */
  function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        out[i * n + j] = s;
      }
    return out;
  }

  it('equals the ascending float64 sum bit for bit, for every row remainder and sparse A', () => {
    for (const [m, k, n, zeroEvery] of [
      [1, 9, 16, 0],
      [2, 9, 17, 3],
      [3, 7, 20, 0],
      [5, 11, 33, 4],
      [8, 16, 16, 2],
    ]) {
      const a = values(m * k, m + 10 * k, zeroEvery);
      const b = values(k * n, n);
      const got = tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync();
      expect(Buffer.from(got.buffer).equals(Buffer.from(reference(a, b, m, k, n).buffer))).toBe(true);
    }
  });

  it('resizes with an interpolation matrix exactly as the dense product', () => {
    const [out, inn, n] = [64, 256, 48];
    const w = interpolationMatrixValues(out, inn);
    expect(w.filter((x) => x !== 0).length).toBeLessThan(out * 16);
    const b = values(inn * n, 5);
    const got = tf.matMul(tf.tensor2d(w, [out, inn]), tf.tensor2d(b, [inn, n])).dataSync();
    expect(Buffer.from(got.buffer).equals(Buffer.from(reference(w, b, out, inn, n).buffer))).toBe(true);
  });

  it('keeps NaN from an Inf or NaN in B even where A is zero', () => {
    const a = new Float32Array([0, 0, 1, 0, 0, 0, 0, 0]); // [4, 2]: only row 1 reads B's row 0
    for (const bad of [Infinity, NaN]) {
      const b = new Float32Array(2 * 16).fill(1);
      b[16] = bad; // B[1, 0], multiplied by zeros only
      const got = tf.matMul(tf.tensor2d(a, [4, 2]), tf.tensor2d(b, [2, 16])).dataSync();
      for (let i = 0; i < 4; i++) expect(Number.isNaN(got[i * 16])).toBe(true);
      expect(got[1 * 16 + 1]).toBe(1);
    }
  });
});

describe('cpu transpose and tile', () => {
  it('transposes float32 and int32 along every permutation of a rank-4 tensor', () => {
    const shape = [2, 3, 4, 5];
    const x = values(120, 3);
    const perms = [
      [0, 1, 2, 3],
      [0, 2, 1, 3],
      [3, 2, 1, 0],
      [1, 0, 3, 2],
      [2, 3, 0, 1],
      [0, 1, 3, 2],
    ];
    for (const dtype of ['float32', 'int32'] as const) {
      const data = dtype === 'int32' ? Int32Array.from(x, (v) => Math.round(v * 100)) : x;
      const t = tf.tensor(data, shape, dtype);
      for (const perm of perms) {
        const y = tf.transpose(t, perm);
        const outShape = perm.map((p) => shape[p]);
        expect(y.shape).toEqual(outShape);
        expect(y.dtype).toBe(dtype);
        const got = y.dataSync();
        for (let i = 0; i < got.length; i++) {
          const loc = locOf(outShape, i);
          const src = new Array<number>(4);
          perm.forEach((p, d) => (src[p] = loc[d]));
          expect(got[i]).toBe(data[offset(shape, src)]);
        }
      }
    }
  });

  it('tiles float32 and int32, including reps of 1 and a rank-1 tensor', () => {
    const cases: [number[], number[]][] = [
      [
        [4, 2, 1, 3],
        [1, 1, 5, 2],
      ],
      [
        [2, 3],
        [3, 1],
      ],
      [[5], [3]],
    ];
    for (const dtype of ['float32', 'int32'] as const)
      for (const [shape, reps] of cases) {
        const size = shape.reduce((a, d) => a * d, 1);
        const data = dtype === 'int32' ? Int32Array.from({ length: size }, (_, i) => i * 7 - 3) : values(size, 9);
        const y = tf.tile(tf.tensor(data, shape, dtype), reps);
        const outShape = shape.map((d, k) => d * reps[k]);
        expect(y.shape).toEqual(outShape);
        const got = y.dataSync();
        for (let i = 0; i < got.length; i++)
          expect(got[i]).toBe(
            data[
              offset(
                shape,
                locOf(outShape, i).map((l, d) => l % shape[d]),
              )
            ],
          );
      }
  });
});

describe('cpu broadcasting ops', () => {
  it('int32 add, sub and mul and float32 minimum and maximum match an element-by-element reference', () => {
    const [sa, sb] = [
      [4, 2, 1, 6],
      [1, 2, 5, 1],
    ];
    const outShape = [4, 2, 5, 6];
    const ia = Int32Array.from({ length: 48 }, (_, i) => i * 3 - 70);
    const ib = Int32Array.from({ length: 10 }, (_, i) => 11 - i * 5);
    const fa = values(48, 1);
    const fb = values(10, 2);
    const cases: [tf.Tensor, Int32Array | Float32Array, Int32Array | Float32Array, (x: number, y: number) => number][] =
      [
        [tf.add(tf.tensor(ia, sa, 'int32'), tf.tensor(ib, sb, 'int32')), ia, ib, (x, y) => x + y],
        [tf.sub(tf.tensor(ia, sa, 'int32'), tf.tensor(ib, sb, 'int32')), ia, ib, (x, y) => x - y],
        [tf.mul(tf.tensor(ia, sa, 'int32'), tf.tensor(ib, sb, 'int32')), ia, ib, (x, y) => x * y],
        [tf.minimum(tf.tensor(fa, sa), tf.tensor(fb, sb)), fa, fb, Math.min],
        [tf.maximum(tf.tensor(fa, sa), tf.tensor(fb, sb)), fa, fb, Math.max],
      ];
    for (const [out, a, b, ref] of cases) {
      expect(out.shape).toEqual(outShape);
      expect(out.dtype).toBe(a instanceof Int32Array ? 'int32' : 'float32');
      const got = out.dataSync();
      for (let i = 0; i < got.length; i++) {
        const loc = locOf(outShape, i);
        const x =
          a[
            offset(
              sa,
              loc.map((l, d) => (sa[d] === 1 ? 0 : l)),
            )
          ];
        const y =
          b[
            offset(
              sb,
              loc.map((l, d) => (sb[d] === 1 ? 0 : l)),
            )
          ];
        expect(got[i]).toBe(Math.fround(ref(x, y)));
      }
    }
  });
});

describe('cpu reductions over axes that are not innermost', () => {
  it('sum, mean, max, min, argMax and argMin match a reference, with and without keepDims', () => {
    const shape = [3, 4, 5];
    const x = values(60, 4);
    x[offset(shape, [1, 0, 3])] = x[offset(shape, [1, 2, 3])] = 5; // a tie for the max along axis 1: the first wins
    const t = tf.tensor(x, shape);
    const along = (axes: number[], loc: number[], f: (acc: number[]) => number) => {
      const picked: number[] = [];
      const walk = (d: number, l: number[]) => {
        if (d === shape.length) return picked.push(x[offset(shape, l)]);
        const range = axes.includes(d) ? [...Array(shape[d]).keys()] : [loc[d]];
        for (const v of range) walk(d + 1, [...l.slice(0, d), v]);
      };
      walk(0, []);
      return f(picked);
    };
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    for (const axes of [[0], [1], [0, 2], [1, 0]]) {
      const kept = shape.map((d, k) => (axes.includes(k) ? 1 : d));
      const n = axes.reduce((a, d) => a * shape[d], 1);
      for (const [op, ref] of [
        [(y: tf.Tensor, keep: boolean) => tf.sum(y, axes, keep), sum],
        [
          (y: tf.Tensor, keep: boolean) => tf.mean(y, axes, keep),
          (v: number[]) => sum(v.map((e) => Math.fround(e / n))),
        ],
        [(y: tf.Tensor, keep: boolean) => tf.max(y, axes, keep), (v: number[]) => Math.max(...v)],
        [(y: tf.Tensor, keep: boolean) => tf.min(y, axes, keep), (v: number[]) => Math.min(...v)],
      ] as const)
        for (const keep of [false, true]) {
          const got = op(t, keep);
          expect(got.shape).toEqual(keep ? kept : shape.filter((_, k) => !axes.includes(k)));
          const data = got.dataSync();
          for (let i = 0; i < data.length; i++) expect(data[i]).toBeCloseTo(along(axes, locOf(kept, i), ref), 5);
        }
    }
    for (const [op, pick] of [
      [tf.argMax, (v: number[]) => v.indexOf(Math.max(...v))],
      [tf.argMin, (v: number[]) => v.indexOf(Math.min(...v))],
    ] as const)
      for (const axis of [0, 1]) {
        const got = op(t, axis);
        const kept = shape.map((d, k) => (k === axis ? 1 : d));
        expect(got.dtype).toBe('int32');
        expect([...got.dataSync()]).toEqual(
          Array.from({ length: got.size }, (_, i) => along([axis], locOf(kept, i), pick)),
        );
      }
    expect(tf.argMax(t, 1).dataSync()[offset([3, 5], [1, 3])]).toBe(0);
  });

  it('fused matMul with a bias equals matMul plus the bias; with relu it stays the stock kernel', () => {
    const a = tf.tensor(values(2 * 6 * 9, 1), [2, 6, 9]);
    const b = tf.tensor(values(9 * 20, 2), [9, 20]);
    const bias = tf.tensor(values(20, 3), [20]);
    const want = tf.add(tf.matMul(a, b), bias).dataSync();
    const got = tf.fused.matMul({ a, b, bias }).dataSync();
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    const relu = tf.fused.matMul({ a, b, bias, activation: 'relu' }).dataSync();
    for (let i = 0; i < relu.length; i++) expect(relu[i]).toBeCloseTo(Math.max(0, want[i]), 5);
  });
});

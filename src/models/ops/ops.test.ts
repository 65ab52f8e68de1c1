import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { detach } from './gradients';
import { gradientCheck } from './gradientCheck';
import { interpolationMatrixValues, resizeNHWC, resizePlanes } from './resize';
import { bilinearTaps, gatherBilinear, samplePlanes } from './sampling';

beforeAll(async () => {
  await setupTestBackend();
});

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Reference grid_sample(align_corners=False, zeros) for one plane at one point. */
function gridSampleRef(plane: ArrayLike<number>, h: number, w: number, x: number, y: number): number {
  const px = x * w - 0.5;
  const py = y * h - 0.5;
  const x0 = Math.floor(px);
  const y0 = Math.floor(py);
  let v = 0;
  for (const [cx, cy] of [
    [x0, y0],
    [x0 + 1, y0],
    [x0, y0 + 1],
    [x0 + 1, y0 + 1],
  ]) {
    if (cx < 0 || cy < 0 || cx >= w || cy >= h) continue;
    v += (1 - Math.abs(px - cx)) * (1 - Math.abs(py - cy)) * plane[cy * w + cx];
  }
  return v;
}

describe('zero gradients for comparisons and detach', () => {
  it('backprops through where(greater(x, 0)) and logical ops', () => {
    const x = tf.tensor1d([-1, 2, 3, -4]);
    const g = tf.grad((t: tf.Tensor) => {
      const cond = tf.logicalNot(tf.logicalOr(tf.less(t, -2), tf.logicalAnd(tf.equal(t, 3), tf.notEqual(t, 0))));
      return tf.sum(
        tf.where(tf.logicalAnd(cond, tf.greater(t, tf.lessEqual(t, 0).cast('float32'))), tf.mul(t, t), tf.zerosLike(t)),
      );
    })(x);
    expect(Array.from(g.dataSync())).toEqual([0, 4, 0, 0]);
  });

  it('detach has zero gradient and lets int32 indices derived from it feed a gather', () => {
    const table = tf.tensor2d([[1], [2], [3]]);
    const g = tf.grad((t: tf.Tensor) => {
      const idx = tf.cast(tf.floor(detach(t)), 'int32');
      return tf.sum(tf.mul(tf.gather(table, idx), tf.reshape(t, [-1, 1])));
    })(tf.tensor1d([0.5, 2.25]));
    expect(Array.from(g.dataSync())).toEqual([1, 3]);
  });
});

describe('cpu kernel replacements', () => {
  it('slice, split and unsortedSegmentSum give the reference values', () => {
    const x = tf.range(0, 2 * 3 * 4 * 5).reshape([2, 3, 4, 5]);
    const v = x.arraySync() as number[][][][];
    const s = tf.slice(x, [1, 1, 0, 2], [1, 2, 3, 2]).arraySync() as number[][][][];
    expect(s).toEqual([v[1].slice(1, 3).map((r) => r.slice(0, 3).map((c) => c.slice(2, 4)))]);
    const [a, b] = tf.split(x, [2, 3], 3).map((t) => t.arraySync() as number[][][][]);
    expect(a).toEqual(v.map((p) => p.map((r) => r.map((c) => c.slice(0, 2)))));
    expect(b).toEqual(v.map((p) => p.map((r) => r.map((c) => c.slice(2)))));
    const seg = tf.unsortedSegmentSum(
      tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      tf.tensor1d([2, 0, 2], 'int32'),
      3,
    );
    expect(seg.arraySync()).toEqual([
      [3, 4],
      [0, 0],
      [6, 8],
    ]);
    expect(tf.slice(tf.tensor1d([true, false, true], 'bool'), [1], [2]).arraySync()).toEqual([0, 1]);
  });

  it('gather copies rows along any axis and still rejects out-of-range indices', () => {
    const x = tf.range(0, 2 * 3 * 4).reshape([2, 3, 4]);
    const v = x.arraySync() as number[][][];
    expect(tf.gather(x, tf.tensor1d([2, 0, 2], 'int32'), 1).arraySync()).toEqual(v.map((p) => [p[2], p[0], p[2]]));
    expect(tf.gather(x, tf.tensor2d([[1], [0]], [2, 1], 'int32'), 0).arraySync()).toEqual([[v[1]], [v[0]]]);
    expect(tf.gather(x.cast('int32'), tf.tensor1d([3, 1], 'int32'), 2).arraySync()).toEqual(
      v.map((p) => p.map((r) => [r[3], r[1]])),
    );
    expect(() => tf.gather(x, tf.tensor1d([3], 'int32'), 1)).toThrow();
  });

  it('batched matMul matches a reference for every transpose, batch broadcast and width', () => {
    const cases: [number[], number[]][] = [
      [
        [5, 7],
        [7, 20],
      ],
      [
        [3, 5, 7],
        [7, 3],
      ],
      [
        [2, 3, 5, 7],
        [1, 7, 17],
      ],
      [
        [1, 5, 7],
        [4, 7, 2],
      ],
    ];
    cases.forEach(([sa, sb], c) => {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const flip = (shape: number[], t: boolean) =>
            t ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : shape;
          const a = randomTensor(flip(sa, transposeA), 10 * c + 1);
          const b = randomTensor(flip(sb, transposeB), 10 * c + 2);
          const got = tf.matMul(a, b, transposeA, transposeB);
          const a3 = (
            transposeA
              ? tf.transpose(
                  a,
                  [...sa.keys()].map((d) => (d < sa.length - 2 ? d : 2 * sa.length - 3 - d)),
                )
              : a
          ).reshape([-1, sa[sa.length - 2], sa[sa.length - 1]]);
          const b3 = (
            transposeB
              ? tf.transpose(
                  b,
                  [...sb.keys()].map((d) => (d < sb.length - 2 ? d : 2 * sb.length - 3 - d)),
                )
              : b
          ).reshape([-1, sb[sb.length - 2], sb[sb.length - 1]]);
          const [av, bv] = [a3.arraySync() as number[][][], b3.arraySync() as number[][][]];
          const batch = Math.max(av.length, bv.length);
          const want = Array.from({ length: batch }, (_, i) =>
            av[i % av.length].map((row) =>
              bv[i % bv.length][0].map((_, j) => row.reduce((s, x, p) => s + x * bv[i % bv.length][p][j], 0)),
            ),
          );
          expect(got.shape.slice(-2)).toEqual([sa[sa.length - 2], sb[sb.length - 1]]);
          const flat = got.dataSync();
          want.flat(2).forEach((w, i) => expect(flat[i]).toBeCloseTo(w, 4));
        }
      }
    });
  });

  it('broadcasting add, sub, mul and div match an element-by-element reference', () => {
    const pairs: [number[], number[]][] = [
      [
        [4, 1024 / 64, 8, 4],
        [4, 1, 8, 1],
      ],
      [
        [19, 1, 1],
        [19, 4, 1],
      ],
      [
        [3, 1, 5],
        [1, 4, 1],
      ],
      [[2, 3, 4], [4]],
      [[1], [2, 3]],
      [
        [2, 1, 3, 1],
        [1, 5, 1, 2],
      ],
    ];
    const ops: [(a: tf.Tensor, b: tf.Tensor) => tf.Tensor, (x: number, y: number) => number][] = [
      [tf.add, (x, y) => x + y],
      [tf.sub, (x, y) => x - y],
      [tf.mul, (x, y) => x * y],
      [tf.div, (x, y) => x / y],
    ];
    pairs.forEach(([sa, sb], k) => {
      const a = randomTensor(sa, 2 * k + 1);
      const b = tf.add(randomTensor(sb, 2 * k + 2), 3);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(sa, sb);
      const [av, bv] = [a.dataSync(), b.dataSync()];
      const index = (shape: number[], loc: number[]) => {
        const offset = loc.length - shape.length;
        return shape.reduce((i, n, d) => i * n + (n === 1 ? 0 : loc[offset + d]), 0);
      };
      for (const [op, ref] of ops) {
        const out = op(a, b);
        expect(out.shape).toEqual(outShape);
        const got = out.dataSync();
        for (let i = 0; i < got.length; i++) {
          const loc = outShape.map(
            (_, d) => Math.floor(i / outShape.slice(d + 1).reduce((p, n) => p * n, 1)) % outShape[d],
          );
          expect(got[i]).toBeCloseTo(ref(av[index(sa, loc)], bv[index(sb, loc)]), 5);
        }
      }
    });
  });
});

describe('PyTorch-exact bilinear resize', () => {
  it('matches F.interpolate(align_corners=False) taps', () => {
    // torch: interpolate([1, 2], size=4) = [1, 1.25, 1.75, 2]; [a,b,c,d] → size 2 = [(a+b)/2, (c+d)/2].
    const up = tf.matMul(tf.tensor2d(interpolationMatrixValues(4, 2), [4, 2]), tf.tensor2d([[1], [2]]));
    expect(Array.from(up.dataSync())).toEqual([1, 1.25, 1.75, 2]);
    expect(Array.from(interpolationMatrixValues(2, 4))).toEqual([0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]);
  });

  it('resizePlanes and resizeNHWC agree with point-wise grid_sample at pixel centres', () => {
    const x = randomTensor([1, 5, 7], 1);
    const y = resizePlanes(x, 9, 4).dataSync();
    const nhwc = resizeNHWC(tf.reshape(x, [1, 5, 7, 1]) as tf.Tensor4D, 9, 4).dataSync();
    const plane = x.dataSync();
    for (let i = 0; i < 9; i++) {
      for (let j = 0; j < 4; j++) {
        // Upsampling in H clamps to the border, which grid_sample at the same centre also does
        // inside the valid range; only compare interior rows/cols.
        const ref = gridSampleRef(plane, 5, 7, (j + 0.5) / 4, (i + 0.5) / 9);
        if (i > 0 && i < 8) expect(y[i * 4 + j]).toBeCloseTo(ref, 5);
        expect(nhwc[i * 4 + j]).toBeCloseTo(y[i * 4 + j], 6);
      }
    }
  });

  it('keeps recently used matrices and lets old ones go past 32 MiB', () => {
    const kept = interpolationMatrixValues(1024, 999);
    expect(interpolationMatrixValues(1024, 999) === kept).toBe(true);
    // 1024 × 1000..1011 floats are ~4 MiB each: twelve more push the first (touched first) past the budget.
    const again = () => interpolationMatrixValues(1024, 999);
    for (let n = 1000; n < 1006; n++) interpolationMatrixValues(1024, n);
    expect(again() === kept).toBe(true);
    for (let n = 1006; n < 1018; n++) interpolationMatrixValues(1024, n);
    const rebuilt = again();
    expect(rebuilt === kept).toBe(false);
    expect(Buffer.from(rebuilt.buffer).equals(Buffer.from(kept.buffer))).toBe(true);
  });

  it('has exact gradients (finite differences)', () => {
    const x = randomTensor([2, 4, 6], 2);
    const w = randomTensor([2, 7, 3], 3);
    const r = gradientCheck((t) => tf.sum(tf.mul(resizePlanes(t, 7, 3), w)) as tf.Scalar, x);
    expect(r.maxRelError).toBeLessThan(1e-2);
    const xn = randomTensor([1, 3, 5, 2], 4);
    const wn = randomTensor([1, 6, 2, 2], 5);
    const rn = gradientCheck((t) => tf.sum(tf.mul(resizeNHWC(t as tf.Tensor4D, 6, 2), wn)) as tf.Scalar, xn);
    expect(rn.maxRelError).toBeLessThan(1e-2);
  });
});

describe('gather-based bilinear sampling (grid_sample, align_corners=False, zeros)', () => {
  const xs = [0.03, 0.31, 0.52, 0.77, 0.98, -0.05, 1.04];
  const ys = [0.11, 0.44, 0.61, 0.93, 0.02, 0.5, 0.57];

  it('matches a direct grid_sample incl. zero padding outside', () => {
    const planes = randomTensor([2, 4, 5], 6) as tf.Tensor3D;
    const px = tf.tensor2d([xs, xs.slice().reverse()]);
    const py = tf.tensor2d([ys, ys.slice().reverse()]);
    const out = samplePlanes(planes, px, py).dataSync();
    const data = planes.dataSync();
    for (let n = 0; n < 2; n++) {
      const plane = data.subarray(n * 20, n * 20 + 20);
      for (let p = 0; p < xs.length; p++) {
        const x = n ? xs[xs.length - 1 - p] : xs[p];
        const y = n ? ys[ys.length - 1 - p] : ys[p];
        expect(out[n * xs.length + p]).toBeCloseTo(gridSampleRef(plane, 4, 5, x, y), 5);
      }
    }
  });

  it('has exact gradients w.r.t. values and sample positions (finite differences)', () => {
    const planes = randomTensor([2, 4, 5], 7);
    const px = tf.tensor2d([xs, xs.slice().reverse()]);
    const py = tf.tensor2d([ys, ys.slice().reverse()]);
    const w = randomTensor([2, xs.length], 8);
    const rv = gradientCheck((t) => tf.sum(tf.mul(samplePlanes(t as tf.Tensor3D, px, py), w)) as tf.Scalar, planes);
    expect(rv.maxRelError).toBeLessThan(1e-2);
    // Positions: steps well inside one pixel cell so the function is smooth there.
    const rx = gradientCheck(
      (t) => tf.sum(tf.mul(samplePlanes(planes as tf.Tensor3D, t as tf.Tensor2D, py), w)) as tf.Scalar,
      px,
      1e-3,
    );
    expect(rx.maxRelError).toBeLessThan(2e-2);
    const ry = gradientCheck(
      (t) => tf.sum(tf.mul(samplePlanes(planes as tf.Tensor3D, px, t as tf.Tensor2D), w)) as tf.Scalar,
      py,
      1e-3,
    );
    expect(ry.maxRelError).toBeLessThan(2e-2);
  });

  it('samples multi-channel tables', () => {
    const table = randomTensor([12, 3], 9) as tf.Tensor2D; // one 3x4 plane, 3 channels
    const taps = bilinearTaps(tf.tensor1d([0.4]), tf.tensor1d([0.7]), 3, 4);
    const out = gatherBilinear(table, taps).dataSync();
    const t = table.dataSync();
    for (let c = 0; c < 3; c++) {
      const plane = Array.from({ length: 12 }, (_, i) => t[i * 3 + c]);
      expect(out[c]).toBeCloseTo(gridSampleRef(plane, 3, 4, 0.4, 0.7), 5);
    }
  });
});

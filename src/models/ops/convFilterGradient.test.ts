import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { Rng } from '../../core/rng';
import './gradients';

beforeAll(async () => {
  await setupTestBackend();
});

function randomTensor(shape: number[], rng: Rng): tf.Tensor {
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.normal()),
    shape,
  );
}

/** dL/dW of L = Σ conv(x, W)·dy, by the definition: Σ over batch and output positions of x·dy. */
function naiveFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  k: number,
  stride: number,
  pad: number,
  depthwise: boolean,
): Float32Array {
  const [b, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const xv = x.dataSync();
  const dv = dy.dataSync();
  const out = new Float32Array(k * k * ci * (depthwise ? 1 : co));
  for (let n = 0; n < b; n++)
    for (let yr = 0; yr < oh; yr++)
      for (let yc = 0; yc < ow; yc++)
        for (let r = 0; r < k; r++)
          for (let c = 0; c < k; c++) {
            const xr = yr * stride - pad + r;
            const xc = yc * stride - pad + c;
            if (xr < 0 || xr >= h || xc < 0 || xc >= w) continue;
            for (let i = 0; i < ci; i++) {
              const xi = xv[((n * h + xr) * w + xc) * ci + i];
              if (depthwise) out[(r * k + c) * ci + i] += xi * dv[((n * oh + yr) * ow + yc) * co + i];
              else
                for (let o = 0; o < co; o++)
                  out[((r * k + c) * ci + i) * co + o] += xi * dv[((n * oh + yr) * ow + yc) * co + o];
            }
          }
  return out;
}

describe('cpu conv filter gradients', () => {
  it('conv2d (patchify 2×2/2 and 3×3/1 padded) and depthwise 7×7 match the definition', () => {
    const rng = new Rng(3);
    const cases = [
      { k: 2, stride: 2, pad: 0, depthwise: false, ci: 3, co: 5 },
      { k: 3, stride: 1, pad: 1, depthwise: false, ci: 4, co: 2 },
      { k: 7, stride: 1, pad: 3, depthwise: true, ci: 6, co: 6 },
    ];
    for (const { k, stride, pad, depthwise, ci, co } of cases) {
      const x = randomTensor([2, 8, 8, ci], rng) as tf.Tensor4D;
      const filter = randomTensor(depthwise ? [k, k, ci, 1] : [k, k, ci, co], rng) as tf.Tensor4D;
      const padding = pad === 0 ? 'valid' : 'same';
      const conv = (f: tf.Tensor4D) =>
        depthwise ? tf.depthwiseConv2d(x, f, stride, padding) : tf.conv2d(x, f, stride, padding);
      const dy = randomTensor(conv(filter).shape, rng) as tf.Tensor4D;
      const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(conv(f as tf.Tensor4D), dy)))(filter);
      const expected = naiveFilterGradient(x, dy, k, stride, pad, depthwise);
      const got = grad.dataSync();
      expect(got.length).toBe(expected.length);
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i], 4);
      tf.dispose([x, filter, dy, grad]);
    }
  });
});

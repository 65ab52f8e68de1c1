import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { maskPool } from './zeroShot';

beforeAll(async () => {
  await setupTestBackend();
});

it('mask pooling resizes like F.interpolate(bilinear, align_corners=False) before thresholding', async () => {
  // Logits on a 5x7 grid pooled onto a 3x4 map: a fractional resize where the source index clamps at 0.
  const [h, w, mh, mw, c] = [3, 4, 5, 7, 2];
  const dense = tf.tensor4d(
    Float32Array.from({ length: h * w * c }, (_, i) => (i % 7) - 3 + i / 10),
    [1, h, w, c],
  );
  const logits = Float32Array.from({ length: mh * mw }, (_, i) => Math.sin(i * 1.7) + 0.1);
  const masks = tf.tensor4d(logits, [1, 1, mh, mw]);
  // PyTorch: src = max(0, (dst + 0.5)·in/out − 0.5), neighbours floor(src) and min(floor+1, in−1).
  const source = (dst: number, inSize: number, outSize: number) => {
    const s = Math.max(0, ((dst + 0.5) * inSize) / outSize - 0.5);
    const i0 = Math.floor(s);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), f: s - i0 };
  };
  const denseData = await dense.data();
  const sums = new Float64Array(c);
  let area = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const sy = source(y, mh, h);
      const sx = source(x, mw, w);
      const at = (r: number, q: number) => logits[r * mw + q];
      const top = at(sy.i0, sx.i0) * (1 - sx.f) + at(sy.i0, sx.i1) * sx.f;
      const bottom = at(sy.i1, sx.i0) * (1 - sx.f) + at(sy.i1, sx.i1) * sx.f;
      if (top * (1 - sy.f) + bottom * sy.f > 0) {
        area++;
        for (let ch = 0; ch < c; ch++) sums[ch] += denseData[(y * w + x) * c + ch];
      }
    }
  const pooled = maskPool(dense, masks);
  expect(area).toBeGreaterThan(0);
  expect(area).toBeLessThan(h * w);
  const got = await pooled.data();
  for (let ch = 0; ch < c; ch++) expect(got[ch]).toBeCloseTo(sums[ch] / (area + 1e-8), 5);
  tf.dispose([dense, masks, pooled]);
});

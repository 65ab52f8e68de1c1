import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { Rng } from '../core/rng';
import { augmentImage, validRegion, type AugmentDraw } from './augment';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  drawStrongAugmentation,
  gaussianBlur,
  grayscale,
  strongAugmentImage,
  UPSTREAM_STRONG_AUGMENT,
  type StrongDraw,
} from './strongAugment';

beforeAll(async () => {
  await setupTestBackend();
});

const pixels = (values: number[][]) => tf.tensor3d(values.flat(), [1, values.length, 3]);
const expectPixels = (t: tf.Tensor3D, expected: number[][], digits = 3) => {
  const got = t.arraySync()[0];
  expected.forEach((px, i) => px.forEach((v, c) => expect(got[i][c]).toBeCloseTo(v, digits)));
};

describe('strong augmentation (student view)', () => {
  it('draws torchvision ColorJitter factors, grayscale p 0.2 and blur p 0.5 with σ in [0.1, 2)', () => {
    const rng = new Rng(5);
    let gray = 0;
    let blur = 0;
    for (let i = 0; i < 2000; i++) {
      const d = drawStrongAugmentation(rng);
      expect([...d.order].sort()).toEqual(['brightness', 'contrast', 'hue', 'saturation']);
      for (const f of [d.brightness, d.contrast, d.saturation]) expect(f >= 0.2 && f < 1.8).toBe(true);
      expect(Math.abs(d.hue)).toBeLessThanOrEqual(0.2);
      if (d.grayscale) gray++;
      if (d.blurSigma !== null) {
        blur++;
        expect(d.blurSigma >= 0.1 && d.blurSigma < 2).toBe(true);
      }
    }
    // Binomial(2000, p): 4 standard deviations are ±72 (p 0.2) and ±89 (p 0.5).
    expect(Math.abs(gray - 400)).toBeLessThan(72);
    expect(Math.abs(blur - 1000)).toBeLessThan(90);
    expect(UPSTREAM_STRONG_AUGMENT.blurSigma).toEqual([0.1, 2.0]);
  });

  it('colour ops on hand-computed pixels', () => {
    // Brightness scales and clamps at 255.
    expectPixels(adjustBrightness(pixels([[100, 200, 50]]), 0.5), [[50, 100, 25]]);
    expectPixels(adjustBrightness(pixels([[100, 200, 50]]), 1.5), [[150, 255, 75]]);
    // Contrast blends with the mean luma of the image: black and grey 200 → mean 100; f 0.5 → 0.5x + 50.
    expectPixels(
      adjustContrast(
        pixels([
          [0, 0, 0],
          [200, 200, 200],
        ]),
        0.5,
      ),
      [
        [50, 50, 50],
        [150, 150, 150],
      ],
    );
    // Saturation 0 is the luma; red's luma is 0.299·255 = 76.245. Factor 1.5 on (100, 200, 50) (luma 153): 1.5x − 76.5.
    expectPixels(adjustSaturation(pixels([[255, 0, 0]]), 0), [[76.245, 76.245, 76.245]]);
    expectPixels(adjustSaturation(pixels([[100, 200, 50]]), 1.5), [[73.5, 223.5, 0]]);
    // Hue: a third of the circle turns red into green, minus a third into blue; a sixth turns (255, 0, 0) into yellow.
    expectPixels(
      adjustHue(
        pixels([
          [255, 0, 0],
          [0, 0, 255],
          [40, 40, 40],
        ]),
        1 / 3,
      ),
      [
        [0, 255, 0],
        [255, 0, 0],
        [40, 40, 40],
      ],
    );
    expectPixels(adjustHue(pixels([[255, 0, 0]]), -1 / 3), [[0, 0, 255]]);
    expectPixels(adjustHue(pixels([[255, 0, 0]]), 1 / 6), [[255, 255, 0]]);
    // (200, 100, 0): h = 1/12; + 0.1 → h = 0.18333 → sector 1 (f = 0.1): r = v·(1 − s·f) = 180, g = 200, b = 0.
    expectPixels(adjustHue(pixels([[200, 100, 0]]), 0.1), [[180, 200, 0]], 2);
    expectPixels(grayscale(pixels([[100, 200, 50]])), [[153, 153, 153]]);
  });

  it('blur: a separable Gaussian with replicated edges', () => {
    // A delta in a 9x9 image, σ = 1: the centre keeps w0², w0 = 1/Σ_{k=−3..3} e^{−k²/2}.
    const w = [-3, -2, -1, 0, 1, 2, 3].map((k) => Math.exp(-(k * k) / 2));
    const w0 = 1 / w.reduce((a, v) => a + v, 0);
    const delta = tf.tensor3d(
      Array.from({ length: 81 * 3 }, (_, i) => (Math.floor(i / 3) === 40 ? 100 : 0)),
      [9, 9, 3],
    );
    const out = gaussianBlur(delta, 1).arraySync();
    expect(out[4][4][0]).toBeCloseTo(100 * w0 * w0, 4);
    expect(out[4][5][1]).toBeCloseTo(100 * w0 * w0 * Math.exp(-0.5), 4);
    expect(out[0][0][2]).toBeCloseTo(0, 6);
    // A constant image stays constant (edge replication keeps the weights summing to 1 at the border).
    const flat = gaussianBlur(tf.fill([5, 7, 3], 77) as tf.Tensor3D, 2).dataSync();
    flat.forEach((v) => expect(v).toBeCloseTo(77, 3));
  });

  it("keeps the weak view's geometry and leaves the padding untouched", () => {
    // An 8x8 image: left half dark (20, 40, 60), right half bright (200, 180, 160); resized to 12x12, cropped at (4, 2), flipped,
    // on a 16x16 canvas: the unpadded region is 8 rows × 10 columns at the right (the flip moves the padding left).
    const d: AugmentDraw = { height: 12, width: 12, cropY: 4, cropX: 2, flip: true, colour: null };
    const image = tf.tensor3d(
      Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? [20, 40, 60] : [200, 180, 160])).flat(),
      [8, 8, 3],
    );
    const weak = augmentImage(image, d, 16);
    const region = validRegion(d, 16);
    expect(region).toEqual({ x0: 6, width: 10, height: 8 });
    const identity: StrongDraw = {
      order: ['brightness', 'contrast', 'saturation', 'hue'],
      brightness: 1,
      contrast: 1,
      saturation: 1,
      hue: 0,
      grayscale: false,
      blurSigma: null,
    };
    const w = weak.arraySync();
    const same = strongAugmentImage(weak, region, identity).arraySync();
    const half = strongAugmentImage(weak, region, { ...identity, brightness: 0.5 }).arraySync();
    const strong = strongAugmentImage(weak, region, {
      order: ['hue', 'saturation', 'brightness', 'contrast'],
      brightness: 1.4,
      contrast: 0.6,
      saturation: 1.7,
      hue: 0.15,
      grayscale: true,
      blurSigma: 1.3,
    }).arraySync();
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const inside = y < 8 && x >= 6;
        for (let c = 0; c < 3; c++) {
          if (!inside) {
            expect(w[y][x][c]).toBe(128);
            expect(half[y][x][c]).toBe(128);
            expect(strong[y][x][c]).toBe(128);
            continue;
          }
          expect(same[y][x][c]).toBeCloseTo(w[y][x][c], 3);
          // Same pixel, half the value: nothing moved.
          expect(half[y][x][c]).toBeCloseTo(w[y][x][c] / 2, 3);
        }
        // Grayscale on: three equal channels inside.
        if (inside) expect(strong[y][x][0]).toBeCloseTo(strong[y][x][2], 3);
      }
    }
    // The dark/bright edge stays between the same columns: brighter on the side that was brighter.
    const row = strong[3];
    expect(row[6][0]).toBeGreaterThan(row[15][0]); // flipped: the bright half is on the left of the region
  });
});

/** The classical fallback's scale grows with the image, so a 256² demo image is not cut into its texture. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FELZENSZWALB_OPTIONS, felzenszwalbMasks } from '../core/felzenszwalb';
import { iterateDemoSplit } from '../data/demo/dataset';
import { fallbackScale } from './masks';

function rgba(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let p = 0; p < rgb.length / 3; p++) out.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255], 4 * p);
  return out;
}

describe('fallback scale', () => {
  it('keeps the defaults up to 128² and grows k with the side and the minimum size with the area', () => {
    expect(fallbackScale(64, 64)).toEqual(DEFAULT_FELZENSZWALB_OPTIONS);
    expect(fallbackScale(128, 128)).toEqual(DEFAULT_FELZENSZWALB_OPTIONS);
    expect(fallbackScale(256, 256)).toEqual({ ...DEFAULT_FELZENSZWALB_OPTIONS, scale: 600, minSize: 400 });
    expect(fallbackScale(512, 128)).toEqual({ ...DEFAULT_FELZENSZWALB_OPTIONS, scale: 600, minSize: 400 });
  });

  it('makes fewer masks than the fixed defaults on 256² demo images, each image still split in several', () => {
    const images = [...iterateDemoSplit({ width: 256, height: 256, labeled: 3, seed: 1 }, 'labeled')];
    for (const image of images) {
      const pixels = rgba(image.rgb);
      const fixed = felzenszwalbMasks(pixels, 256, 256).length;
      const scaled = felzenszwalbMasks(pixels, 256, 256, fallbackScale(256, 256)).length;
      // Measured: 155 → 19, 40 → 13, 29 → 8 masks for 6, 5 and 4 ground-truth segments.
      expect(scaled).toBeLessThan(fixed);
      expect(scaled).toBeLessThanOrEqual(4 * image.segments.length);
      expect(scaled).toBeGreaterThan(1);
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { Category } from '../core/panoptic';
import { hslToRgb, segmentColor } from './segmentColors';

const red: Category = { id: 1, name: 'brick', isthing: true, color: [200, 40, 40] };
const sky: Category = { id: 2, name: 'sky', isthing: false, color: [120, 170, 230] };

describe('overlay palette', () => {
  it('converts HSL by hand-computed values', () => {
    expect(hslToRgb(0, 1, 0.5)).toEqual([255, 0, 0]);
    expect(hslToRgb(120, 1, 0.5)).toEqual([0, 255, 0]);
    expect(hslToRgb(240, 1, 0.25)).toEqual([0, 0, 128]);
    expect(hslToRgb(60, 0.5, 0.5)).toEqual([191, 191, 64]);
  });

  it('ignores the category colour (the colour objects are painted in) and is stable per segment', () => {
    expect(segmentColor(5, sky)).toEqual(segmentColor(9, sky));
    expect(segmentColor(5, sky)).toEqual(segmentColor(5, { ...sky, color: [0, 0, 0] }));
    expect(segmentColor(7, red)).toEqual(segmentColor(7, { ...red, color: [1, 2, 3] }));
    expect(segmentColor(7, red)).toEqual(segmentColor(7, red));
  });

  it('gives consecutive categories hues at least 30 degrees apart', () => {
    const hue = ([r, g, b]: number[]) => {
      const max = Math.max(r, g, b);
      const d = max - Math.min(r, g, b);
      const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
      return (60 * h + 360) % 360;
    };
    for (let id = 1; id < 40; id++) {
      const a = hue(segmentColor(0, { ...sky, id }));
      const b = hue(segmentColor(0, { ...sky, id: id + 1 }));
      const gap = Math.min(Math.abs(a - b), 360 - Math.abs(a - b));
      expect(gap).toBeGreaterThan(30);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { felzenszwalbLabels, felzenszwalbMasks, labelsToMaskRecords } from './felzenszwalb';
import { decodeMask, encodeMask, fromCocoRle, rleArea } from './rle';

/** An RGBA image of flat colour regions given by a label map and a palette. */
function paint(
  labels: number[][],
  palette: [number, number, number][],
): { rgba: Uint8Array; width: number; height: number } {
  const height = labels.length;
  const width = labels[0].length;
  const rgba = new Uint8Array(width * height * 4);
  labels.forEach((row, y) =>
    row.forEach((l, x) => {
      rgba.set([...palette[l], 255], (y * width + x) * 4);
    }),
  );
  return { rgba, width, height };
}

describe('Felzenszwalb-Huttenlocher fallback segmenter', () => {
  it('separates flat regions of clearly different colour', () => {
    // left half red, right half blue, a green square in the bottom-left
    const map = Array.from({ length: 24 }, (_, y) =>
      Array.from({ length: 32 }, (_, x) => (x < 16 ? (y >= 14 && y < 22 && x >= 4 && x < 12 ? 2 : 0) : 1)),
    );
    const { rgba, width, height } = paint(map, [
      [220, 30, 30],
      [30, 30, 220],
      [30, 200, 30],
    ]);
    // blurred boundary strips form their own small components; min_size folds them into a region
    const { labels, count } = felzenszwalbLabels(rgba, width, height, { scale: 100, sigma: 0.5, minSize: 50 });
    expect(count).toBe(3);
    // pixels of one painted region share one label, different regions differ
    const labelOf = (x: number, y: number) => labels[y * width + x];
    expect(labelOf(0, 0)).toBe(labelOf(15, 10));
    expect(labelOf(20, 5)).toBe(labelOf(31, 23));
    expect(labelOf(6, 16)).toBe(labelOf(11, 21));
    expect(new Set([labelOf(0, 0), labelOf(20, 5), labelOf(6, 16)]).size).toBe(3);
  });

  it('merges components below min_size into a neighbour', () => {
    const map = Array.from({ length: 16 }, (_, y) =>
      Array.from({ length: 16 }, (_, x) => (x >= 7 && x < 9 && y >= 7 && y < 9 ? 1 : 0)),
    );
    const { rgba, width, height } = paint(map, [
      [100, 100, 100],
      [250, 250, 0],
    ]);
    expect(felzenszwalbLabels(rgba, width, height, { scale: 50, sigma: 0, minSize: 2 }).count).toBe(2);
    expect(felzenszwalbLabels(rgba, width, height, { scale: 50, sigma: 0, minSize: 5 }).count).toBe(1);
  });

  it('builds one record per label whose RLE equals the per-label mask (single-pass encoder)', () => {
    const labels = Int32Array.from([0, 1, 1, 2, 0, 2, 2, 2, 1, 1, 0, 0]);
    const [width, height] = [4, 3];
    const records = labelsToMaskRecords(labels, 3, width, height);
    expect(records.map((r) => r.area)).toEqual([4, 4, 4]);
    for (const r of records) {
      const mask = decodeMask(fromCocoRle(r.segmentation));
      const label = labels[mask.indexOf(1)];
      expect(Array.from(mask)).toEqual(Array.from(labels, (l) => (l === label ? 1 : 0)));
      expect(fromCocoRle(r.segmentation).counts).toEqual(encodeMask(mask, height, width).counts);
      expect(r.source).toBe('fallback');
      expect(r.predicted_iou).toBeNull();
      expect(r.crop_box).toEqual([0, 0, width, height]);
    }
    // label 2 = pixels (0,3), (1,1), (1,2), (1,3): x 1..3, y 0..1 → [1, 0, 2, 1]
    const label2 = records.find((r) => decodeMask(fromCocoRle(r.segmentation))[3] === 1)!;
    expect(label2.bbox).toEqual([1, 0, 2, 1]);
  });

  it('covers every pixel exactly once', () => {
    const width = 40;
    const height = 30;
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) rgba.set([(i * 37) % 256, (i * 11) % 256, (i * 7) % 256, 255], i * 4);
    const records = felzenszwalbMasks(rgba, width, height, { minSize: 30 });
    const cover = new Uint8Array(width * height);
    for (const r of records) decodeMask(fromCocoRle(r.segmentation)).forEach((v, i) => (cover[i] += v));
    expect(cover.every((v) => v === 1)).toBe(true);
    expect(records.every((r) => r.area >= 30 && r.area === rleArea(fromCocoRle(r.segmentation)))).toBe(true);
  });
});

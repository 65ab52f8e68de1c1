import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng';
import { captionClass, captionScene, sampleSegmentCrops } from './captions';
import { generateDemoImage, type DemoImage } from './world';

describe('demo captions', () => {
  it('every crop holds pixels of the class it is captioned with, and classes are drawn uniformly', () => {
    // A 40×40 scene: sky (101) above row 20, grass (102) below, a 4×4 coin (7001) at (30, 30).
    const width = 40;
    const ids = new Uint32Array(width * width).map((_, i) => (Math.floor(i / width) < 20 ? 101000 : 102000));
    for (let y = 30; y < 34; y++) for (let x = 30; x < 34; x++) ids[y * width + x] = 7001;
    // Each pixel's red byte is its class (1 = coin, 101/102 = stuff), so a crop's centre tells where it came from.
    const rgb = new Uint8Array(width * width * 3);
    ids.forEach((id, i) => (rgb[3 * i] = Math.floor(id / 1000)));
    const segments = [7001, 101000, 102000].map((id) => ({
      id,
      category_id: Math.floor(id / 1000),
      area: 0,
      bbox: [0, 0, 0, 0] as [number, number, number, number],
      iscrowd: 0,
    }));
    const scene: DemoImage = { width, height: width, rgb, ids, segments };
    const side = 8;
    const crops = sampleSegmentCrops(new Rng(5), [scene], 300, side);
    const counts = new Map<number, number>();
    for (const c of crops) {
      counts.set(c.categoryId, (counts.get(c.categoryId) ?? 0) + 1);
      // Every crop holds pixels of its class (the centre may move only where the crop meets the border).
      expect(Array.from({ length: side * side }, (_, p) => c.rgb[3 * p]).includes(c.categoryId)).toBe(true);
    }
    // Classes are drawn uniformly: the 16-pixel coin as often as the 800-pixel sky (300 draws, ±5σ).
    for (const id of [7, 101, 102]) expect(Math.abs(counts.get(id)! - 100)).toBeLessThan(41);
  });

  it('captions name the class, and scene captions every class of the scene', () => {
    const rng = new Rng(2);
    for (let i = 0; i < 50; i++)
      expect(captionClass(rng, 5, ['a photo of a {}.'])).toMatch(/^a photo of a .*triangle\.$/);
    const scene = generateDemoImage(new Rng(9), { width: 64, height: 64 });
    const ids = [...new Set(scene.segments.map((s) => s.category_id))];
    const caption = captionScene(rng, ids);
    expect(caption.startsWith('a photo of a ')).toBe(true);
    const names: Record<number, RegExp> = {
      1: /ball/,
      2: /star/,
      3: /ring/,
      4: /box/,
      5: /triangle/,
      6: /kite/,
      7: /coin/,
      101: /sky/,
      102: /grass|lawn/,
      103: /water|sea/,
      104: /wall/,
      105: /floor/,
      106: /sand|beach/,
    };
    for (const id of ids) expect(caption).toMatch(names[id]);
  });
});

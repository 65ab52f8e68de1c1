import { describe, expect, it } from 'vitest';
import { DearliError } from './errors';
import { MaskRecallEvaluator, RECALL_IOU_THRESHOLDS } from './maskRecall';

/** Binary masks from rows of '#' (inside) and '.' (outside). */
function mask(...rows: string[]): number[] {
  return rows.flatMap((r) => [...r].map((c) => (c === '#' ? 1 : 0)));
}

// 4×4: segments 1 (4 px), 2 (4 px), 3 (6 px), one void pixel (0) and one crowd pixel (9).
const GT = {
  ids: Uint32Array.from([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 0, 9]),
  segments: [
    { id: 1, category_id: 1 },
    { id: 2, category_id: 1 },
    { id: 3, category_id: 2 },
    { id: 9, category_id: 2, iscrowd: 1 },
  ],
  file: 'gt.png',
};

const PROPOSALS = [
  // A = segment 1: IoU 1.
  mask('##..', '##..', '....', '....'),
  // B: 3 px of segment 2 plus the void and the crowd pixel, which do not count: IoU 3/4 (not 3/6).
  mask('..##', '..#.', '....', '..##'),
  // C: 5 px of segment 3 and 1 px of segment 1: IoU(3) = 5/(6+6-5) = 5/7, IoU(1) = 1/9.
  mask('....', '#...', '####', '#...'),
  // An empty proposal changes nothing.
  mask('....', '....', '....', '....'),
];

describe('class-agnostic mask recall and AR over IoU 0.50:0.95', () => {
  it('takes each mask’s best IoU, leaves void and crowd pixels out, and averages recall over the ten thresholds', () => {
    expect(RECALL_IOU_THRESHOLDS).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]);
    const evaluator = new MaskRecallEvaluator();
    evaluator.addImage(GT, Uint8Array.from(PROPOSALS.flat()), PROPOSALS.length);
    // Best IoUs 1, 0.75, 5/7 ≈ 0.714: all three from 0.50 to 0.70, two at 0.75, one above.
    const one = evaluator.summarize();
    expect(one.masks).toBe(3);
    expect(one.images).toBe(1);
    expect(one.recall).toEqual([1, 1, 1, 1, 1, 2 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3]);
    // (5·1 + 2/3 + 4·1/3) / 10 = 0.7
    expect(one.averageRecall).toBeCloseTo(0.7, 12);

    // A second image whose one mask no proposal touches: 4 masks in all, that one at IoU 0.
    evaluator.addImage(
      { ids: new Uint32Array(4).fill(5), segments: [{ id: 5, category_id: 1 }], file: 'b.png' },
      Uint8Array.from([0, 0, 0, 0]),
      1,
    );
    const two = evaluator.summarize();
    expect(two.masks).toBe(4);
    expect(two.recall).toEqual([0.75, 0.75, 0.75, 0.75, 0.75, 0.5, 0.25, 0.25, 0.25, 0.25]);
    // (5·3/4 + 2/4 + 4·1/4) / 10 = 0.525
    expect(two.averageRecall).toBeCloseTo(0.525, 12);
  });

  it('is 0 with no ground-truth mask, and refuses proposals of the wrong size and ids the segment list lacks', () => {
    expect(new MaskRecallEvaluator().summarize()).toEqual({
      averageRecall: 0,
      recall: RECALL_IOU_THRESHOLDS.map(() => 0),
      masks: 0,
      images: 0,
    });
    const evaluator = new MaskRecallEvaluator();
    expect(() => evaluator.addImage(GT, new Uint8Array(15), 1)).toThrow(DearliError);
    const unknown = { ...GT, ids: GT.ids.map((id) => (id === 3 ? 4 : id)) };
    expect(() => evaluator.addImage(unknown, new Uint8Array(16), 1)).toThrow(/segment id 4/);
  });
});

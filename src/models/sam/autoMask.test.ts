import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { maskRecordFromBinary, maskToBox } from '../../core/maskRecord';
import { decodeMask, fromCocoRle } from '../../core/rle';
import { boxIou, boxNms, buildPointGrid, stabilityScore, stabilityScores } from './autoMask';

beforeAll(async () => {
  await setupTestBackend();
});

describe('automatic mask generation helpers', () => {
  it('builds the point grid as build_point_grid (cell centres, x fastest)', () => {
    expect(Array.from(buildPointGrid(2))).toEqual([0.25, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75, 0.75]);
    const g = buildPointGrid(32);
    expect(g.length).toBe(32 * 32 * 2);
    expect(g[0]).toBeCloseTo(1 / 64, 15);
    expect(g[2]).toBeCloseTo(3 / 64, 15);
    expect(g[2 * 32 + 1]).toBeCloseTo(3 / 64, 15);
    expect(g[g.length - 1]).toBeCloseTo(63 / 64, 15);
  });

  it('computes the stability score from the two offset thresholds', () => {
    // threshold 0, offset 1: above +1 → {2, 1.5} = 2 pixels; above −1 → {2, 1.5, 0.5, −0.5} = 4 pixels
    const logits = [2, 1.5, 0.5, -0.5, -1, -3];
    expect(stabilityScore(logits, 0, 1)).toBe(2 / 4);
    // strict comparisons: exactly 1 is not above 1, exactly −1 is not above −1
    expect(stabilityScore([1, -1, 3], 0, 1)).toBe(1 / 2);
    expect(Number.isNaN(stabilityScore([-5, -5], 0, 1))).toBe(true);
  });

  it('computes the same stability scores on the backend', async () => {
    const logits = tf.tensor3d([2, 1.5, 0.5, -0.5, 1, -1, 3, -2], [2, 2, 2]);
    const scores = stabilityScores(logits, 0, 1);
    expect(Array.from(await scores.data())).toEqual([2 / 4, 1 / 2]);
    tf.dispose([logits, scores]);
  });

  it('takes boxes from masks as batched_mask_to_box (inclusive max, empty → zeros)', () => {
    // 3x4 mask with pixels (row 0, col 1) and (row 2, col 2)
    const mask = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    expect(maskToBox(mask, 3, 4)).toEqual([1, 0, 2, 2]);
    expect(maskToBox(new Uint8Array(12), 3, 4)).toEqual([0, 0, 0, 0]);
    const record = maskRecordFromBinary(mask, 3, 4, { predicted_iou: 0.9, stability_score: 0.97, point_coords: [[1, 1]], source: 'sam' });
    // xywh without +1, as segment-anything's box_xyxy_to_xywh
    expect(record.bbox).toEqual([1, 0, 1, 2]);
    expect(record.area).toBe(2);
    expect(record.crop_box).toEqual([0, 0, 4, 3]);
    expect(Array.from(decodeMask(fromCocoRle(record.segmentation)))).toEqual(mask);
  });

  it('computes box IoU as torchvision (no +1)', () => {
    // [0,0,2,2] and [1,1,3,3]: intersection 1, union 4 + 4 − 1 = 7
    expect(boxIou([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / 7, 15);
    expect(boxIou([0, 0, 2, 2], [5, 5, 6, 6])).toBe(0);
  });

  it('suppresses by box NMS in descending score order with a strict IoU threshold', () => {
    const boxes = [
      [0, 0, 10, 10], // score 0.90
      [1, 0, 11, 10], // IoU with box 0 = 90/110 = 0.818 → suppressed at 0.7
      [0, 0, 10, 7], //  IoU with box 0 = 70/100 = 0.7 exactly → kept (not > 0.7)
      [20, 20, 30, 30], // disjoint
    ];
    const scores = [0.9, 0.95, 0.89, 0.5];
    // box 1 has the highest score, so it suppresses box 0 (IoU 0.818); box 2 vs box 1: 63/107 = 0.589 → kept
    expect(boxNms(boxes, scores, 0.7)).toEqual([1, 2, 3]);
    expect(boxNms(boxes, [0.95, 0.9, 0.89, 0.5], 0.7)).toEqual([0, 2, 3]);
  });
});

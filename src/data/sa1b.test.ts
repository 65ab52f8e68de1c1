import { describe, expect, it } from 'vitest';
import { DearliError } from '../core/errors';
import { encodeMask, toCocoRle } from '../core/rle';
import { lineAndColumn, parseSa1bJson } from './sa1b';

const FILE = 'instance_anns/42.json';
const mask = [0, 1, 1, 0, 1, 1]; // 2x3
const rle = toCocoRle(encodeMask(mask, 2, 3));

function doc(annotation: Record<string, unknown> = {}, image: Record<string, unknown> = {}) {
  return {
    image: { image_id: 42, file_name: '42.jpg', height: 2, width: 3, ...image },
    annotations: [
      {
        id: 1,
        segmentation: rle,
        area: 4,
        predicted_iou: 0.93,
        stability_score: 0.97,
        bbox: [1, 0, 1, 1],
        point_coords: [[1.5, 0.5]],
        crop_box: [0, 0, 3, 2],
        ...annotation,
      },
    ],
  };
}

function errorOf(text: string): DearliError {
  try {
    parseSa1bJson(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(DearliError);
    expect((e as DearliError).file).toBe(FILE);
    return e as DearliError;
  }
  throw new Error('expected a DearliError');
}

describe('SA-1B style mask files', () => {
  it('parses a valid file and compresses uncompressed counts', () => {
    const parsed = parseSa1bJson(JSON.stringify(doc()), FILE);
    expect(parsed.image).toEqual({ image_id: 42, file_name: '42.jpg', height: 2, width: 3 });
    expect(parsed.annotations[0]).toMatchObject({
      id: 1,
      area: 4,
      predicted_iou: 0.93,
      segmentation: rle,
      point_coords: [[1.5, 0.5]],
    });
    const uncompressed = parseSa1bJson(
      JSON.stringify(doc({ segmentation: { size: [2, 3], counts: encodeMask(mask, 2, 3).counts } })),
      FILE,
    );
    expect(uncompressed.annotations[0].segmentation).toEqual(rle);
    expect(
      parseSa1bJson(JSON.stringify(doc({ predicted_iou: null, stability_score: null })), FILE).annotations[0]
        .predicted_iou,
    ).toBeNull();
  });

  it('reports bad JSON with line and column', () => {
    const text = '{\n  "image": {"image_id": 1,\n  "file_name" "x.jpg"}\n}';
    const e = errorOf(text);
    expect(e.problem).toMatch(/line 3, column 1[0-9]/);
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(errorOf('{"image": ').problem).toMatch(/not valid JSON at line 1/);
  });

  it('rejects an RLE whose size differs from the image', () => {
    expect(errorOf(JSON.stringify(doc({}, { height: 3 }))).problem).toMatch(/RLE size is 2×3 but the image is 3×3/);
  });

  it('rejects counts that cannot be decoded or do not cover the image', () => {
    expect(errorOf(JSON.stringify(doc({ segmentation: { size: [2, 3], counts: 'T' } }))).problem).toMatch(
      /annotation 0: .*cannot be decoded/,
    );
    expect(errorOf(JSON.stringify(doc({ segmentation: { size: [2, 3], counts: '12' } }))).problem).toMatch(
      /cover 3 pixels.*has 6/,
    );
    expect(errorOf(JSON.stringify(doc({ segmentation: { size: [2, 3], counts: '1 2' } }))).problem).toMatch(
      /cannot be decoded/,
    );
  });

  it('names missing and mistyped fields', () => {
    const noIou = doc();
    delete (noIou.annotations[0] as Record<string, unknown>).predicted_iou;
    expect(errorOf(JSON.stringify(noIou)).problem).toMatch(/annotation 0: the field "predicted_iou" is missing/);
    expect(errorOf(JSON.stringify(doc({ area: 5 }))).problem).toMatch(/"area" is 5 but the mask has 4 pixels/);
    expect(errorOf(JSON.stringify({ annotations: [] })).problem).toMatch(/"image" is missing/);
    expect(errorOf(JSON.stringify({ image: doc().image })).problem).toMatch(/"annotations" is missing/);
    expect(errorOf(JSON.stringify(doc({}, { file_name: 3 }))).problem).toMatch(/image.file_name/);
    expect(errorOf(JSON.stringify(doc({ segmentation: undefined }))).problem).toMatch(/"segmentation" is missing/);
    expect(errorOf(JSON.stringify(doc({ bbox: [1, 2] }))).problem).toMatch(/"bbox" must be/);
  });
});

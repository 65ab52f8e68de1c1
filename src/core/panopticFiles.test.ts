import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { DearliError } from './errors';
import { encodeIdMap } from './panoptic';
import {
  decodePanopticPng,
  evaluatePanopticFolders,
  pairAnnotations,
  parsePanopticJson,
  type PanopticFolder,
} from './panopticFiles';

function dearliError(run: () => unknown): DearliError {
  try {
    run();
  } catch (e) {
    if (e instanceof DearliError) return e;
    throw e;
  }
  throw new Error('expected a DearliError');
}

const GT_JSON = {
  categories: [
    { id: 1, name: 'person', isthing: 1 },
    { id: 10, name: 'sky', isthing: 0 },
  ],
  annotations: [{ image_id: 1, file_name: 'a.png', segments_info: [{ id: 5, category_id: 10, iscrowd: 0, area: 4 }] }],
};

describe('parsePanopticJson', () => {
  it('reads categories, annotations and segments', () => {
    const parsed = parsePanopticJson(JSON.stringify(GT_JSON), 'gt.json', true);
    expect(parsed.categories).toEqual([
      { id: 1, name: 'person', isthing: true },
      { id: 10, name: 'sky', isthing: false },
    ]);
    expect(parsed.annotations).toEqual([
      { image_id: 1, file_name: 'a.png', segments_info: [{ id: 5, category_id: 10, iscrowd: 0, area: 4 }] },
    ]);
  });

  it('leaves the categories of a prediction file unread, since only the ground truth’s count', () => {
    const json = { categories: [{ id: 'odd' }], annotations: [] };
    expect(parsePanopticJson(JSON.stringify(json), 'pred.json', false)).toEqual({ categories: [], annotations: [] });
  });

  it('reads iscrowd true as 1, as Python compares it', () => {
    const json = {
      annotations: [{ image_id: 'x', file_name: 'x.png', segments_info: [{ id: 5, category_id: 1, iscrowd: true }] }],
    };
    expect(parsePanopticJson(JSON.stringify(json), 'p.json', false).annotations[0].segments_info[0].iscrowd).toBe(1);
  });

  it.each([
    ['not JSON', '{"annotations": ['],
    ['no categories in a ground truth', JSON.stringify({ annotations: [] })],
    [
      'a repeated category id',
      JSON.stringify({ ...GT_JSON, categories: [...GT_JSON.categories, { id: 1, name: 'b', isthing: 0 }] }),
    ],
    ['a category without isthing', JSON.stringify({ ...GT_JSON, categories: [{ id: 1, name: 'a' }] })],
    ['no annotations', JSON.stringify({ categories: GT_JSON.categories })],
    [
      'an annotation without file_name',
      JSON.stringify({ ...GT_JSON, annotations: [{ image_id: 1, segments_info: [] }] }),
    ],
    [
      'a segment without category_id',
      JSON.stringify({ ...GT_JSON, annotations: [{ image_id: 1, file_name: 'a.png', segments_info: [{ id: 3 }] }] }),
    ],
    [
      'a fractional segment id',
      JSON.stringify({
        ...GT_JSON,
        annotations: [{ image_id: 1, file_name: 'a.png', segments_info: [{ id: 3.5, category_id: 1 }] }],
      }),
    ],
  ])('rejects %s, naming the file', (_, text) => {
    const error = dearliError(() => parsePanopticJson(text, 'dir/gt.json', true));
    expect(error.code).toBe('eval-bad-json');
    expect(error.file).toBe('dir/gt.json');
  });
});

describe('pairAnnotations', () => {
  const annotation = (image_id: number | string) => ({ image_id, file_name: `${image_id}.png`, segments_info: [] });

  it('pairs by image_id and ignores predictions of other images', () => {
    const pairs = pairAnnotations(
      [annotation(2), annotation('a')],
      [annotation('a'), annotation(7), annotation(2)],
      'gt.json',
      'pred.json',
    );
    expect(pairs.map((p) => [p.gt.image_id, p.pred.image_id])).toEqual([
      [2, 2],
      ['a', 'a'],
    ]);
  });

  it('rejects a ground-truth image without prediction, naming the prediction file; 1 and "1" differ as in panopticapi', () => {
    const error = dearliError(() => pairAnnotations([annotation(1)], [annotation('1')], 'gt.json', 'pred.json'));
    expect(error.code).toBe('eval-missing-prediction');
    expect(error.file).toBe('pred.json');
    expect(error.message).toContain('1.png');
  });

  it('rejects an image annotated twice in the ground truth', () => {
    const error = dearliError(() =>
      pairAnnotations([annotation(1), annotation(1)], [annotation(1)], 'gt.json', 'pred.json'),
    );
    expect(error.code).toBe('eval-duplicate-image');
    expect(error.file).toBe('gt.json');
  });
});

describe('decodePanopticPng', () => {
  const ids = Uint32Array.from([0, 1, 255, 256, 65535, 65536, 0xabcdef, 0xffffff]);

  it('decodes RGB ids bit-exactly', () => {
    const png = encodePng({ width: 4, height: 2, data: encodeIdMap(ids), channels: 3, depth: 8 });
    expect(decodePanopticPng(png, 'a.png')).toEqual({ ids, width: 4, height: 2 });
  });

  it('ignores the alpha channel of RGBA maps', () => {
    const rgb = encodeIdMap(ids);
    const rgba = new Uint8Array(ids.length * 4);
    for (let i = 0; i < ids.length; i++) rgba.set([...rgb.subarray(3 * i, 3 * i + 3), i * 30], 4 * i);
    expect(
      decodePanopticPng(encodePng({ width: 4, height: 2, data: rgba, channels: 4, depth: 8 }), 'a.png').ids,
    ).toEqual(ids);
  });

  it.each([
    ['a grey PNG', encodePng({ width: 2, height: 1, data: Uint8Array.from([1, 2]), channels: 1, depth: 8 })],
    ['a 16-bit PNG', encodePng({ width: 1, height: 1, data: Uint16Array.from([1, 2, 3]), channels: 3, depth: 16 })],
    ['bytes that are no PNG', Uint8Array.from([1, 2, 3, 4])],
  ])('rejects %s, naming the file', (_, bytes) => {
    const error = dearliError(() => decodePanopticPng(bytes, 'dir/a.png'));
    expect(error.code).toBe('eval-bad-png');
    expect(error.file).toBe('dir/a.png');
  });
});

describe('evaluatePanopticFolders', () => {
  const sky = encodePng({
    width: 2,
    height: 2,
    data: encodeIdMap(Uint32Array.from([5, 5, 5, 5])),
    channels: 3,
    depth: 8,
  });
  const folder = (side: string, json: unknown, pngs: Record<string, Uint8Array>): PanopticFolder => ({
    jsonFile: `${side}.json`,
    jsonText: JSON.stringify(json),
    pngPath: (name) => `${side}/${name}`,
    readPng: (file) => {
      const bytes = pngs[file];
      if (!bytes) throw new Error('ENOENT: no such file');
      return bytes;
    },
  });

  it('evaluates every ground-truth image against its prediction', async () => {
    const result = await evaluatePanopticFolders(
      folder('gt', GT_JSON, { 'gt/a.png': sky }),
      folder('pred', { annotations: GT_JSON.annotations }, { 'pred/a.png': sky }),
    );
    expect(result.images).toBe(1);
    expect(result.pq.All).toEqual({ pq: 1, sq: 1, rq: 1, n: 1 });
    expect(result.miou.miou).toBe(1);
  });

  it('rejects a missing PNG, naming its path', async () => {
    const run = evaluatePanopticFolders(
      folder('gt', GT_JSON, { 'gt/a.png': sky }),
      folder('pred', { annotations: GT_JSON.annotations }, {}),
    );
    await expect(run).rejects.toMatchObject({ code: 'eval-missing-png', file: 'pred/a.png' });
  });
});

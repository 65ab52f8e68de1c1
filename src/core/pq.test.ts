import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DearliError } from './errors';
import type { SegmentInfo } from './panoptic';
import { evaluatePanopticFolders, type PanopticFolder } from './panopticFiles';
import { PanopticEvaluator, type PanopticImage, type PqReport } from './pq';

const CATEGORIES = [
  { id: 1, isthing: true },
  { id: 2, isthing: true },
  { id: 10, isthing: false },
];

/** An id map drawn as text: one character per pixel, '.' is VOID, other characters map through `ids`. */
function image(rows: string[], ids: Record<string, number>, segments: SegmentInfo[], pngFile = 'x.png'): PanopticImage {
  const width = rows[0].length;
  const map = new Uint32Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (map[y * width + x] = ch === '.' ? 0 : ids[ch])));
  return { ids: map, width, height: rows.length, segments, pngFile, jsonFile: 'x.json' };
}

function evaluate(gt: PanopticImage, pred: PanopticImage) {
  const evaluator = new PanopticEvaluator(CATEGORIES);
  evaluator.addImage(gt, pred);
  return evaluator.summarize();
}

describe('panoptic quality against panopticapi', () => {
  const goldenRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/golden/eval');
  const folder = (dir: string, side: 'gt' | 'pred'): PanopticFolder => ({
    jsonFile: path.join(dir, `${side}.json`),
    jsonText: readFileSync(path.join(dir, `${side}.json`), 'utf8'),
    pngPath: (name) => path.join(dir, side, name),
    readPng: (file) => readFileSync(file),
  });
  const cases = readdirSync(goldenRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);

  it('has the golden cases', () => {
    expect(cases.sort()).toEqual(['boundaries', 'crowded', 'mixed', 'string-ids']);
  });

  it.each(cases)('agrees with panopticapi to 1e-6 on %s', async (name) => {
    const dir = path.join(goldenRoot, name);
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as PqReport;
    const { pq, gtAreaMismatches } = await evaluatePanopticFolders(folder(dir, 'gt'), folder(dir, 'pred'));
    expect(gtAreaMismatches).toBe(0);
    expect(Object.keys(pq).sort()).toEqual(Object.keys(expected).sort());
    for (const group of ['All', 'Things', 'Stuff'] as const) {
      expect(pq[group].n, group).toBe(expected[group].n);
      for (const metric of ['pq', 'sq', 'rq'] as const)
        expect(Math.abs(pq[group][metric] - expected[group][metric]), `${group} ${metric}`).toBeLessThan(1e-6);
    }
    expect(Object.keys(pq.per_class).sort()).toEqual(Object.keys(expected.per_class).sort());
    for (const [category, scores] of Object.entries(expected.per_class)) {
      for (const metric of ['pq', 'sq', 'rq'] as const) {
        expect(Math.abs(pq.per_class[category][metric] - scores[metric]), `class ${category} ${metric}`).toBeLessThan(
          1e-6,
        );
      }
    }
  });
});

describe('PanopticEvaluator', () => {
  it('needs IoU above 0.5, leaving the prediction’s void pixels out of the union', () => {
    // a: 8 px person; b predicts 4 of them: IoU 0.5 exactly, no match.
    // c: 4 px car; d covers 3 of them and 3 void pixels: IoU 3 / (6 + 4 - 3 - 3) = 0.75, a match.
    const gt = image(['aaaacc...S', 'aaaacc.SSS'], { a: 1, c: 2, S: 3 }, [
      { id: 1, category_id: 1 },
      { id: 2, category_id: 2 },
      { id: 3, category_id: 10 },
    ]);
    const pred = image(['bb..dddddT', 'bb...dTTTT'], { b: 4, d: 5, T: 6 }, [
      { id: 4, category_id: 1 },
      { id: 5, category_id: 2 },
      { id: 6, category_id: 10 },
    ]);
    const { pq } = evaluate(gt, pred);
    expect(pq.per_class['1']).toEqual({ pq: 0, sq: 0, rq: 0 }); // 1 FN + 1 FP
    expect(pq.per_class['2']).toEqual({ pq: 0.75, sq: 0.75, rq: 1 });
    expect(pq.per_class['10']).toEqual({ pq: 1, sq: 1, rq: 1 });
  });

  it('ignores an unmatched prediction only when more than half of it is void or crowd of its category', () => {
    // k: person crowd, K: car crowd, P: a person matched exactly.
    // p: 4 px, exactly half on void: an FP. q: all on the person crowd: ignored. r: person on the car crowd: an FP.
    const gt = image(['..SSkkkKKKPP', 'SSSSkkkKKKPP'], { S: 1, k: 2, K: 3, P: 4 }, [
      { id: 1, category_id: 10, iscrowd: 0 },
      { id: 2, category_id: 1, iscrowd: 1 },
      { id: 3, category_id: 2, iscrowd: 1 },
      { id: 4, category_id: 1, iscrowd: 0 },
    ]);
    const pred = image(['ppSSqqqrrrPP', 'ppSS.SSrrrPP'], { p: 5, q: 6, r: 7, S: 8, P: 9 }, [
      { id: 5, category_id: 1 },
      { id: 6, category_id: 1 },
      { id: 7, category_id: 1 },
      { id: 8, category_id: 10 },
      { id: 9, category_id: 1 },
    ]);
    const { pq } = evaluate(gt, pred);
    // Person: 1 TP, FPs p and r: RQ = 1 / (1 + 2/2).
    expect(pq.per_class['1']).toEqual({ pq: 0.5, sq: 1, rq: 0.5 });
    // Crowds are never FNs, so the car never occurred.
    expect(pq.Things.n).toBe(1);
  });

  it('lets only the last-listed crowd region of a category excuse predictions, as panopticapi does', () => {
    const gt = image(['SSaabb'], { S: 1, a: 2, b: 3 }, [
      { id: 1, category_id: 10 },
      { id: 2, category_id: 1, iscrowd: 1 },
      { id: 3, category_id: 1, iscrowd: 1 },
    ]);
    const onFirst = image(['SSpp..'], { S: 4, p: 5 }, [
      { id: 4, category_id: 10 },
      { id: 5, category_id: 1 },
    ]);
    const onLast = image(['SS..pp'], { S: 4, p: 5 }, [
      { id: 4, category_id: 10 },
      { id: 5, category_id: 1 },
    ]);
    expect(evaluate(gt, onFirst).pq.Things.n).toBe(1);
    expect(evaluate(gt, onLast).pq.Things.n).toBe(0);
  });

  it('averages only categories that occurred and scores an empty group 0', () => {
    const gt = image(['SSSS'], { S: 1 }, [{ id: 1, category_id: 10 }]);
    const pred = image(['SSS.'], { S: 2 }, [{ id: 2, category_id: 10 }]);
    const { pq } = evaluate(gt, pred);
    expect(pq.All).toEqual({ pq: 0.75, sq: 0.75, rq: 1, n: 1 });
    expect(pq.Stuff).toEqual(pq.All);
    expect(pq.Things).toEqual({ pq: 0, sq: 0, rq: 0, n: 0 });
    expect(Object.keys(pq.per_class).sort()).toEqual(['1', '10', '2']);
  });

  it('accumulates over images', () => {
    const evaluator = new PanopticEvaluator(CATEGORIES);
    const gt = image(['SSSS'], { S: 1 }, [{ id: 1, category_id: 10 }]);
    evaluator.addImage(gt, image(['SSSS'], { S: 2 }, [{ id: 2, category_id: 10 }]));
    evaluator.addImage(gt, image(['SS..'], { S: 2 }, [{ id: 2, category_id: 10 }]));
    const { pq, images } = evaluator.summarize();
    // Image 1: TP IoU 1. Image 2: IoU 0.5, so FN + FP. PQ = 1 / (1 + 0.5 + 0.5).
    expect(images).toBe(2);
    expect(pq.per_class['10']).toEqual({ pq: 0.5, sq: 1, rq: 0.5 });
  });

  it('computes mIoU with gt void ignored, crowd kept as its category and unlabeled predictions as misses', () => {
    const gt = image(['..SSSSkk'], { S: 1, k: 2 }, [
      { id: 1, category_id: 10 },
      { id: 2, category_id: 1, iscrowd: 1 },
    ]);
    const pred = image(['pSSS.Spp'], { S: 3, p: 4 }, [
      { id: 3, category_id: 10 },
      { id: 4, category_id: 1 },
    ]);
    const { miou } = evaluate(gt, pred);
    // sky: gt 4, pred 3 on labeled pixels, 3 shared -> 3/4. person: gt 2, pred 2 (the void pixel is ignored), 2 shared -> 1.
    expect(miou.per_class).toEqual({ '1': 1, '2': null, '10': 0.75 });
    expect(miou.miou).toBeCloseTo(0.875, 12);
    expect(miou.n).toBe(2);
  });

  it('counts ground-truth segments whose JSON area is not their pixel count, and scores with pixel counts', () => {
    const gt = image(['SSSS'], { S: 1 }, [{ id: 1, category_id: 10, area: 9 }]);
    const pred = image(['SSS.'], { S: 2 }, [{ id: 2, category_id: 10 }]);
    const result = evaluate(gt, pred);
    expect(result.gtAreaMismatches).toBe(1);
    expect(result.pq.per_class['10'].pq).toBe(0.75);
  });

  describe('rejects inconsistent input, naming the file', () => {
    const sky = (id: number): SegmentInfo[] => [{ id, category_id: 10 }];
    const gt = (): PanopticImage => image(['SS'], { S: 1 }, sky(1), 'gt/a.png');
    const cases: [string, () => [PanopticImage, PanopticImage], string, string][] = [
      [
        'duplicate segment ids',
        () => [gt(), { ...image(['SS'], { S: 2 }, [...sky(2), ...sky(2)], 'pred/a.png'), jsonFile: 'pred.json' }],
        'eval-duplicate-segment',
        'pred.json',
      ],
      [
        'an id in the gt PNG missing from its JSON',
        () => [image(['ST'], { S: 1, T: 9 }, sky(1), 'gt/a.png'), image(['SS'], { S: 2 }, sky(2), 'pred/a.png')],
        'eval-id-not-in-json',
        'gt/a.png',
      ],
      [
        'an id in the pred PNG missing from its JSON',
        () => [gt(), image(['ST'], { S: 2, T: 9 }, sky(2), 'pred/a.png')],
        'eval-id-not-in-json',
        'pred/a.png',
      ],
      [
        'a pred segment absent from its PNG',
        () => [gt(), { ...image(['SS'], { S: 2 }, [...sky(2), ...sky(3)], 'pred/a.png'), jsonFile: 'pred.json' }],
        'eval-id-not-in-png',
        'pred.json',
      ],
      [
        'a gt segment absent from its PNG',
        () => [
          { ...image(['SS'], { S: 1 }, [...sky(1), ...sky(5)], 'gt/a.png'), jsonFile: 'gt.json' },
          image(['SS'], { S: 2 }, sky(2), 'pred/a.png'),
        ],
        'eval-id-not-in-png',
        'gt.json',
      ],
      [
        'an unknown category',
        () => [gt(), { ...image(['SS'], { S: 2 }, [{ id: 2, category_id: 77 }], 'pred/a.png'), jsonFile: 'pred.json' }],
        'eval-unknown-category',
        'pred.json',
      ],
      [
        'a size mismatch',
        () => [gt(), image(['SSS'], { S: 2 }, sky(2), 'pred/a.png')],
        'eval-size-mismatch',
        'pred/a.png',
      ],
      [
        'segment id 0',
        () => [gt(), { ...image(['..'], {}, sky(0), 'pred/a.png'), jsonFile: 'pred.json' }],
        'eval-bad-segment-id',
        'pred.json',
      ],
      [
        'an id map value beyond 24 bits',
        () => [gt(), image(['SS'], { S: 1 << 24 }, sky(2), 'pred/a.png')],
        'eval-bad-segment-id',
        'pred/a.png',
      ],
    ];
    it.each(cases)('%s', (_, make, code, file) => {
      const evaluator = new PanopticEvaluator(CATEGORIES);
      const [g, p] = make();
      let error: unknown;
      try {
        evaluator.addImage(g, p);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DearliError);
      expect((error as DearliError).code).toBe(code);
      expect((error as DearliError).file).toBe(file);
      expect((error as DearliError).message).toContain(file);
      // A rejected image leaves the totals as they were.
      expect(evaluator.summarize().images).toBe(0);
      expect(evaluator.summarize().pq.All.n).toBe(0);
    });
  });

  it('rejects a category list with a repeated id', () => {
    expect(() => new PanopticEvaluator([...CATEGORIES, { id: 1, isthing: false }])).toThrow(DearliError);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Category } from '../core/panoptic';
import { PanopticEvaluator, type PanopticImage } from '../core/pq';
import { Rng } from '../core/rng';
import { encodeIdPng } from './decode';
import {
  exportPanopticPredictions,
  PREDICTIONS_DIR,
  PREDICTIONS_JSON,
  type PanopticPrediction,
} from './predictionsExport';

const scratch = mkdtempSync(path.join(tmpdir(), 'dearli-pred-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const categories: Category[] = [
  { id: 1, name: 'sky', isthing: false },
  { id: 2, name: 'grass', isthing: false },
  { id: 7, name: 'dog', isthing: true },
];

/** A scene: sky above, grass below, a dog box; the prediction moves the boundaries by a seeded amount. */
function scene(rng: Rng, w: number, h: number, shift: number): PanopticImage {
  const ids = new Uint32Array(w * h);
  const horizon = Math.floor(h / 2) + shift;
  const [x0, y0] = [2 + rng.int(0, 3), horizon - 2];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dog = x >= x0 && x < x0 + 4 && y >= y0 && y < y0 + 3;
      ids[y * w + x] = dog ? 3003 : y < horizon ? 1001 : 2002;
    }
  }
  ids[0] = 0;
  return {
    ids,
    width: w,
    height: h,
    segments: [
      { id: 1001, category_id: 1 },
      { id: 2002, category_id: 2 },
      { id: 3003, category_id: 7 },
    ],
  };
}

describe('panoptic predictions export', () => {
  it('evaluates with npm run eval to the PQ the lab computes in memory', async () => {
    const rng = new Rng(5);
    const gts: PanopticImage[] = [];
    const preds: PanopticPrediction[] = [];
    for (let i = 0; i < 4; i++) {
      const [w, h] = [12 + i, 10];
      gts.push(scene(rng, w, h, 0));
      const p = scene(rng, w, h, i % 2 === 0 ? 1 : -2);
      preds.push({
        imageId: i + 1,
        imageFile: `photos/img_${i}.jpg`,
        width: w,
        height: h,
        ids: p.ids,
        segments: [...p.segments],
      });
    }
    const inMemory = new PanopticEvaluator(categories);
    gts.forEach((gt, i) => inMemory.addImage(gt, { ...preds[i], segments: preds[i].segments }));
    const expected = inMemory.summarize();

    const zip = await exportPanopticPredictions(preds, categories);
    const predDir = path.join(scratch, 'pred');
    mkdirSync(path.join(predDir, PREDICTIONS_DIR), { recursive: true });
    const reader = new ZipReader(new BlobReader(zip));
    for (const entry of await reader.getEntries()) {
      if (entry.directory) continue;
      writeFileSync(path.join(predDir, entry.filename), await entry.getData(new Uint8ArrayWriter()));
    }
    await reader.close();

    const gtDir = path.join(scratch, 'gt');
    mkdirSync(gtDir, { recursive: true });
    const gtJson = {
      images: gts.map((g, i) => ({ id: i + 1, file_name: `img_${i}.jpg`, width: g.width, height: g.height })),
      annotations: gts.map((g, i) => ({ image_id: i + 1, file_name: `img_${i}.png`, segments_info: g.segments })),
      categories,
    };
    gts.forEach((g, i) => writeFileSync(path.join(gtDir, `img_${i}.png`), encodeIdPng(g.ids, g.width, g.height)));
    writeFileSync(path.join(scratch, 'gt.json'), JSON.stringify(gtJson));

    const out = path.join(scratch, 'pq.json');
    const cli = spawnSync(
      path.resolve(import.meta.dirname, '../../node_modules/.bin/tsx'),
      [
        'scripts/eval.ts',
        '--gt-json',
        path.join(scratch, 'gt.json'),
        '--gt-dir',
        gtDir,
        '--pred-json',
        path.join(predDir, PREDICTIONS_JSON),
        '--pred-dir',
        path.join(predDir, PREDICTIONS_DIR),
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const fromCli = JSON.parse(readFileSync(out, 'utf8'));
    expect(fromCli).toEqual(JSON.parse(JSON.stringify(expected.pq)));
    expect(expected.pq.All.pq).toBeGreaterThan(0);
    expect(expected.pq.All.pq).toBeLessThan(1);
  }, 60_000);

  it('names each PNG after its image and lists only segments present in it', async () => {
    const ids = new Uint32Array([0, 5, 5, 5]);
    const one = (imageFile: string): PanopticPrediction => ({
      imageId: imageFile,
      imageFile,
      width: 2,
      height: 2,
      ids,
      segments: [
        { id: 5, category_id: 1 },
        { id: 9, category_id: 2 },
      ],
    });
    const zip = await exportPanopticPredictions([one('a/x.jpg'), one('b/x.jpg')], categories);
    const reader = new ZipReader(new BlobReader(zip));
    const entries = await reader.getEntries();
    expect(entries.map((e) => e.filename).sort()).toEqual([
      PREDICTIONS_JSON,
      `${PREDICTIONS_DIR}/x.png`,
      `${PREDICTIONS_DIR}/x_1.png`,
    ]);
    const jsonEntry = entries.find((e) => e.filename === PREDICTIONS_JSON);
    if (!jsonEntry || jsonEntry.directory) throw new Error(`${PREDICTIONS_JSON} is missing`);
    const json = JSON.parse(new TextDecoder().decode(await jsonEntry.getData(new Uint8ArrayWriter())));
    await reader.close();
    expect(json.annotations[1]).toEqual({
      image_id: 'b/x.jpg',
      file_name: 'x_1.png',
      segments_info: [{ id: 5, category_id: 1, area: 3 }],
    });
  });
});

/**
 * The PQ the lab displays for a model on a dataset is the PQ `npm run eval` finds in its exported
 * predictions: a briefly trained tiny run validates on three demo images; the Use view exports its
 * predictions on that dataset (the model alone, and ensembled with CLIP at the validation's α); the
 * evaluator of scripts/eval.ts reads the zip against the demo's own COCO files.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePanopticFolders } from '../src/core/panopticFiles';
import { demoAsCocoFiles, generateDemoDataset } from '../src/data/demo';
import { PREDICTIONS_DIR, PREDICTIONS_JSON } from '../src/data/predictionsExport';
import type { LabSession } from '../src/pipeline/session';
import type { EvalPoint } from '../src/pipeline/trainingApi';
import { demoDatabase, sessionPool } from '../test/pipelineSession';
import { nodeFolder } from './eval';
import { decodeRgbPanopticPng, rgbPanopticPngRowReader } from './panopticPng';

const DEMO = { width: 32, height: 32, labeled: 2, unlabeled: 0, validation: 2, seed: 6 };
const scratch = mkdtempSync(path.join(tmpdir(), 'dearli-pred-pq-'));
const pool = sessionPool();
let session: LabSession;
let validationId: string;
let shown: EvalPoint;
let gt: { json: string; dir: string };

beforeAll(async () => {
  const demo = await demoDatabase(DEMO);
  validationId = demo.ids.validation;
  session = await pool.open(demo.name);
  const run = await session.training.createRun({
    kind: 'supervised',
    preset: 'tiny',
    cropSize: 32,
    // Trained on the validation images themselves: a few iterations then match some segments, so PQ is not 0.
    trainDatasetIds: [validationId],
    validationDatasetId: validationId,
    iterations: 30,
    batchSize: 2,
    evalEvery: 0,
    validationImages: DEMO.validation,
    learningRate: 3e-3,
    seed: 4,
  });
  const view = await session.training.train(run.id, new AbortController().signal);
  shown = view.evals.at(-1)!;
  await session.api().useRunModel(run.id);

  const gtDir = path.join(scratch, 'gt');
  for (const f of demoAsCocoFiles(generateDemoDataset(DEMO), 'validation')) {
    const to = path.join(gtDir, f.path);
    mkdirSync(path.dirname(to), { recursive: true });
    writeFileSync(to, new Uint8Array(await f.file.arrayBuffer()));
  }
  const json = demoAsCocoFiles(generateDemoDataset(DEMO), 'validation').find((f) => f.path.endsWith('.json'))!.path;
  gt = { json: path.join(gtDir, json), dir: path.join(gtDir, json.replace(/\.json$/, '')) };
}, 300_000);

afterAll(async () => {
  await pool.closeAll();
  rmSync(scratch, { recursive: true, force: true });
});

/** Unzips an exported predictions zip and evaluates it as `npm run eval` does. */
async function evaluateExport(zip: Blob, name: string) {
  const dir = path.join(scratch, name);
  const reader = new ZipReader(new BlobReader(zip));
  for (const entry of await reader.getEntries()) {
    if (entry.directory) continue;
    mkdirSync(path.dirname(path.join(dir, entry.filename)), { recursive: true });
    writeFileSync(path.join(dir, entry.filename), await entry.getData(new Uint8ArrayWriter()));
  }
  await reader.close();
  return evaluatePanopticFolders(
    nodeFolder(gt.json, gt.dir),
    nodeFolder(path.join(dir, PREDICTIONS_JSON), path.join(dir, PREDICTIONS_DIR)),
    decodeRgbPanopticPng,
    { gt: rgbPanopticPngRowReader(), pred: rgbPanopticPngRowReader() },
  );
}

describe('exported predictions', () => {
  it('evaluate with npm run eval to exactly the PQ, SQ and RQ the lab displays, alone and ensembled', async () => {
    expect(shown.images).toBe(DEMO.validation);
    const alone = await evaluateExport(await session.api().exportPredictions(validationId, null), 'alone');
    expect(alone.images).toBe(DEMO.validation);
    // The same predictions through the same evaluator: equal to the last bit, not only to the displayed 0.1.
    expect([alone.pq.All.pq, alone.pq.All.sq, alone.pq.All.rq]).toEqual([shown.pq, shown.sq, shown.rq]);
    expect([alone.pq.Things.pq, alone.pq.Stuff.pq]).toEqual([shown.pqThings, shown.pqStuff]);

    const ensembled = shown.ensembled!;
    const exported = await evaluateExport(
      await session.api().exportPredictions(validationId, ensembled.alpha),
      'ensembled',
    );
    expect([exported.pq.All.pq, exported.pq.All.sq, exported.pq.All.rq]).toEqual([
      ensembled.pq,
      ensembled.sq,
      ensembled.rq,
    ]);
    // Not 0 = 0: the model finds segments, and the two exports differ, so each comparison tells which predictions were exported.
    expect(alone.pq.All.pq).toBeGreaterThan(0);
    expect(exported.pq.All.pq).not.toBe(alone.pq.All.pq);
  });
});

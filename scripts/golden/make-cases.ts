// Writes the evaluator's golden cases to test/golden/eval/<case>/ (gt.json, gt/, pred.json, pred/).
// expected.json in each is panopticapi's own output: see scripts/golden/panopticapi_eval.py.
// Usage: npx tsx scripts/golden/make-cases.ts
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VOID_ID } from '../../src/core/panoptic';
import { Rng } from '../../src/core/rng';
import { Canvas, randomScene, writeCaseJsons, writeScenePngs, type SceneImage, type ScenePair } from './scenes';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/golden/eval');

function randomCase(
  seed: number,
  count: number,
  width: number,
  height: number,
  things: number,
  imageId: (i: number) => number | string,
): SceneImage[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => ({
    imageId: imageId(i),
    name: `img_${String(i).padStart(3, '0')}`,
    scene: randomScene(rng, width, height, things),
    // Every third prediction is RGBA, which panopticapi reads as RGB.
    predChannels: (i % 3 === 2 ? 4 : 3) as 3 | 4,
  }));
}

/**
 * The decision boundaries, on a 40x20 image: IoU exactly 0.5 (no match) and 0.55 (match); void
 * left out of the union; an FP exactly half on void (counted); two crowd regions of one category,
 * of which panopticapi remembers only the last listed; an FP on a crowd of another category.
 */
function boundaryScene(): ScenePair {
  const rng = new Rng(99);
  const gt = new Canvas(40, 20, rng);
  const pred = new Canvas(40, 20, rng);
  // Sky everywhere in the gt; the prediction leaves all but sky-like pixels unlabeled: IoU 116/200.
  gt.rect(0, 0, 40, 20, gt.newSegment(10));
  pred.rect(10, 10, 28, 20, pred.newSegment(10));
  // person, 100 px; prediction is a 50 px subset: IoU 0.5, not a match (FN + FP).
  gt.rect(0, 0, 10, 10, gt.newSegment(1));
  pred.rect(0, 0, 5, 10, pred.newSegment(1));
  // person, 100 px; prediction a 55 px subset: IoU 0.55, a match.
  gt.rect(0, 10, 10, 20, gt.newSegment(1));
  const above = pred.newSegment(1);
  pred.rect(0, 10, 10, 15, above);
  pred.rect(0, 15, 1, 20, above);
  // car, 100 px next to 40 px of void; prediction covers 60 px of the car and all the void: IoU 60/100.
  gt.rect(10, 0, 20, 10, gt.newSegment(2));
  gt.rect(20, 0, 24, 10, VOID_ID);
  pred.rect(14, 0, 24, 10, pred.newSegment(2));
  // dog prediction of 40 px, exactly half on void: still an FP.
  gt.rect(24, 10, 26, 20, VOID_ID);
  pred.rect(24, 10, 28, 20, pred.newSegment(3));
  // Two person crowds; only the second is remembered, so the prediction on the first is an FP.
  gt.rect(28, 0, 34, 10, gt.newSegment(1, 1));
  gt.rect(34, 0, 40, 10, gt.newSegment(1, 1));
  pred.rect(28, 0, 34, 10, pred.newSegment(1));
  pred.rect(34, 0, 40, 10, pred.newSegment(1));
  // A car crowd: a dog prediction on it is an FP, a car prediction is ignored.
  gt.rect(28, 10, 40, 20, gt.newSegment(2, 1));
  pred.rect(30, 10, 36, 20, pred.newSegment(3));
  pred.rect(36, 10, 40, 20, pred.newSegment(2));
  // Unlabeled prediction pixels on sky.
  pred.rect(12, 12, 16, 18, VOID_ID);
  return { gt, pred };
}

function writeCase(name: string, images: SceneImage[]): void {
  const dir = path.join(root, name);
  rmSync(dir, { recursive: true, force: true });
  writeCaseJsons(dir, writeScenePngs(dir, images));
}

writeCase(
  'mixed',
  randomCase(1, 4, 96, 64, 6, (i) => 1000 + i),
);
writeCase(
  'crowded',
  randomCase(3, 6, 80, 60, 14, (i) => i + 1),
);
writeCase(
  'string-ids',
  randomCase(2, 10, 64, 48, 4, (i) => `ADE_val_${String(i + 1).padStart(8, '0')}`),
);
writeCase('boundaries', [{ imageId: 1, name: 'boundaries', scene: boundaryScene() }]);
console.log(`wrote golden cases under ${root}`);

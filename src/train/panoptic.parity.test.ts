import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import {
  expectMatchesReference,
  loadFixtureTensors,
  readFixtureJson,
  toleranceFor,
  type TolerancePattern,
} from '../../test/fixtures';
import { panopticInference, semanticInference, semanticScores, type PanopticSegmentInfo } from './panopticInference';
import { semanticInferenceOnDevice } from './semanticInference';

interface CasesJson {
  cases: { name: string; segments_info: PanopticSegmentInfo[] }[];
  num_classes: number;
  thing_contiguous_ids: number[];
  object_mask_threshold: number;
  overlap_threshold: number;
  tolerances: { patterns: TolerancePattern[] };
}

const DIR = 'm2f-panoptic-inference';

beforeAll(async () => {
  await setupTestBackend();
});

/**
 * Per pixel of the reference semseg [C, pixels]: its argmax, and whether the top two classes differ by
 * more than twice the semseg tolerance (elsewhere an error within tolerance may swap them).
 */
function referenceLabels(
  semseg: ArrayLike<number>,
  numClasses: number,
  pixels: number,
  tol: TolerancePattern,
): { labels: Int32Array; decided: boolean[] } {
  const labels = new Int32Array(pixels);
  const decided: boolean[] = [];
  for (let i = 0; i < pixels; i++) {
    let top = -Infinity;
    let second = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const v = semseg[c * pixels + i];
      if (v > top) {
        second = top;
        top = v;
        labels[i] = c;
      } else if (v > second) second = v;
    }
    decided.push(top - second > 2 * ((tol.atol ?? 0) + (tol.rtol ?? 0) * Math.abs(top)));
  }
  return { labels, decided };
}

describe('M2F panoptic and semantic inference vs Mask2Former', async () => {
  const spec = await readFixtureJson<CasesJson>(`${DIR}/cases.json`);
  const tensors = await loadFixtureTensors(`${DIR}/cases.safetensors`);
  const things = new Set(spec.thing_contiguous_ids);
  const patterns = spec.tolerances.patterns;

  it('has cases', () => expect(spec.cases.length).toBeGreaterThan(0));

  for (const c of spec.cases) {
    it(c.name, async () => {
      const cls = tensors.get(`${c.name}__mask_cls`)!;
      const masks = tensors.get(`${c.name}__mask_pred`)!;
      const [numQueries, height, width] = masks.shape;
      expect(cls.shape).toEqual([numQueries, spec.num_classes + 1]);
      const result = panopticInference(cls.data, masks.data, numQueries, height, width, {
        numClasses: spec.num_classes,
        isThing: (k) => things.has(k),
        objectMaskThreshold: spec.object_mask_threshold,
        overlapThreshold: spec.overlap_threshold,
      });
      expectMatchesReference(
        `${c.name}__panoptic_seg`,
        result.idMap,
        tensors.get(`${c.name}__panoptic_seg`)!.data,
        patterns,
      );
      // Upstream's segments_info carries no score; ours are checked in pseudoLabels.test.ts and panopticInference.test.ts.
      expect(result.segments.map(({ id, isthing, category_id }) => ({ id, isthing, category_id }))).toEqual(
        c.segments_info.map(({ id, isthing, category_id }) => ({ id, isthing, category_id })),
      );
      const sem = semanticScores(cls.data, masks.data, numQueries, spec.num_classes, height * width);
      expectMatchesReference(`${c.name}__semseg`, sem, tensors.get(`${c.name}__semseg`)!.data, patterns);

      // Semantic inference (argmax of semseg) on the CPU and on this backend's device.
      const pixels = height * width;
      const reference = referenceLabels(
        tensors.get(`${c.name}__semseg`)!.data,
        spec.num_classes,
        pixels,
        toleranceFor(`${c.name}__semseg`, patterns),
      );
      const onDevice = tf.tidy(() =>
        semanticInferenceOnDevice(
          tf.tensor2d(cls.data, [numQueries, spec.num_classes + 1]),
          tf.tensor3d(masks.data, [numQueries, height, width]),
        ),
      );
      const labelSets = {
        cpu: semanticInference(cls.data, masks.data, numQueries, spec.num_classes, pixels),
        device: await onDevice.data(),
      };
      onDevice.dispose();
      expect(reference.decided.filter(Boolean).length).toBeGreaterThan(pixels / 2);
      for (const [where, labels] of Object.entries(labelSets)) {
        const wrong = reference.decided.flatMap((d, i) => (d && labels[i] !== reference.labels[i] ? [i] : []));
        expect(
          wrong,
          `${c.name}: ${where} semantic labels differ from the reference argmax at pixels ${wrong.slice(0, 5).join(', ')}`,
        ).toEqual([]);
      }
    });
  }
});

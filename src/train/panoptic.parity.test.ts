import { describe, expect, it } from 'vitest';
import { expectMatchesReference, loadFixtureTensors, readFixtureJson, type TolerancePattern } from '../../test/fixtures';
import { panopticInference, semanticScores, type PanopticSegmentInfo } from './panopticInference';

interface CasesJson {
  cases: { name: string; segments_info: PanopticSegmentInfo[] }[];
  num_classes: number;
  thing_contiguous_ids: number[];
  object_mask_threshold: number;
  overlap_threshold: number;
  tolerances: { patterns: TolerancePattern[] };
}

const DIR = 'm2f-panoptic-inference';

describe('M2F panoptic and semantic inference vs Mask2Former', async () => {
  const spec = await readFixtureJson<CasesJson>(`${DIR}/cases.json`);
  const tensors = await loadFixtureTensors(`${DIR}/cases.safetensors`);
  const things = new Set(spec.thing_contiguous_ids);
  const patterns = spec.tolerances.patterns;

  it('has cases', () => expect(spec.cases.length).toBeGreaterThan(0));

  for (const c of spec.cases) {
    it(c.name, () => {
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
      expectMatchesReference(`${c.name}__panoptic_seg`, result.idMap, tensors.get(`${c.name}__panoptic_seg`)!.data, patterns);
      expect(result.segments).toEqual(c.segments_info.map(({ id, isthing, category_id }) => ({ id, isthing, category_id })));
      const sem = semanticScores(cls.data, masks.data, numQueries, spec.num_classes, height * width);
      expectMatchesReference(`${c.name}__semseg`, sem, tensors.get(`${c.name}__semseg`)!.data, patterns);
    });
  }
});

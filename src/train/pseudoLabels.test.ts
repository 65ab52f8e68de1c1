import { describe, expect, it } from 'vitest';
import { panopticToHostTargets } from './targets';
import { ensemblePosteriors, pseudoLabel, resizePlanesHost } from './pseudoLabels';

const ln = Math.log;

describe('ensemblePosteriors (P_ENS with void re-attached)', () => {
  // Two queries, two classes. q0: teacher softmax over C+1 = [1/2, 1/4, 1/4] (P_MT = [2/3, 1/3], p_void = 1/4),
  // P_CLIP = [1/3, 2/3]. q1: teacher softmax [1/4, 1/4, 1/2] (P_MT = [1/2, 1/2], p_void = 1/2), P_CLIP = [3/4, 1/4].
  const teacher = [ln(2), 0, 0, 0, 0, ln(2)];
  const clip = [0, ln(2), ln(3), 0];

  it('α = 0.5: the geometric mean renormalised, scaled by 1 − p_void, void last, log(p + 1e-8)', () => {
    const out = ensemblePosteriors(teacher, clip, 2, 2, 0.5);
    // q0: √(2/3·1/3) for both classes → P_ENS = [1/2, 1/2]; × 3/4.
    // q1: √(1/2·3/4) : √(1/2·1/4) = √3 : 1 → P_ENS = [√3/(√3+1), 1/(√3+1)]; × 1/2.
    const s3 = Math.sqrt(3);
    const expected = [0.375, 0.375, 0.25, (0.5 * s3) / (s3 + 1), 0.5 / (s3 + 1), 0.5];
    expected.forEach((p, i) => expect(out[i]).toBeCloseTo(ln(p + 1e-8), 12));
    // The re-attached probabilities of a query still sum to 1 (up to the 3·1e-8 of the log's epsilon).
    for (let q = 0; q < 2; q++)
      expect(Math.exp(out[3 * q]) + Math.exp(out[3 * q + 1]) + Math.exp(out[3 * q + 2])).toBeCloseTo(1 + 3e-8, 12);
  });

  it("α = 1 gives the teacher alone, α = 0 CLIP with the teacher's void", () => {
    const mt = ensemblePosteriors(teacher, clip, 2, 2, 1);
    [0.5, 0.25, 0.25, 0.25, 0.25, 0.5].forEach((p, i) => expect(mt[i]).toBeCloseTo(ln(p + 1e-8), 12));
    const zs = ensemblePosteriors(teacher, clip, 2, 2, 0);
    [0.75 / 3, 1.5 / 3, 0.25, 0.375, 0.125, 0.5].forEach((p, i) => expect(zs[i]).toBeCloseTo(ln(p + 1e-8), 12));
  });
});

describe('pseudo-labels', () => {
  it('bilinear upsampling on the host matches PyTorch align_corners=False (2 → 4)', () => {
    // Taps per output: [1, 0], [3/4, 1/4], [1/4, 3/4], [0, 1].
    const out = resizePlanesHost([4, -4, 4, -4], 1, 2, 2, 4, 4);
    expect([...out]).toEqual([4, 2, -2, -4, 4, 2, -2, -4, 4, 2, -2, -4, 4, 2, -2, -4]);
  });

  it('teacher logits, CLIP logits and s4 masks give the §9.2 pseudo-label, computed by hand', () => {
    // Class 0 is a thing, class 1 stuff; α = 0.6 (upstream's 0.4 on CLIP).
    // q0: teacher [ln 2, 0, 0] → P_MT [2/3, 1/3], p_void 1/4; CLIP [0, ln 2] → [1/3, 2/3].
    // q1: teacher [0, ln 4, 0] → P_MT [1/5, 4/5], p_void 1/6; CLIP [0, 0] → [1/2, 1/2].
    const teacher = [ln(2), 0, 0, 0, ln(4), 0];
    const clip = [0, ln(2), 0, 0];
    // q0 covers the left column of a 2x2 mask grid, q1 the right one; the canvas is 4x4.
    const masks = [4, -4, 4, -4, -4, 4, -4, 4];
    const ens = (pMt: number[], pClip: number[]) => {
      const g = pMt.map((p, c) => Math.pow(p, 0.6) * Math.pow(pClip[c], 0.4));
      return g.map((v) => v / (g[0] + g[1]));
    };
    const e0 = ens([2 / 3, 1 / 3], [1 / 3, 2 / 3]); // [2^0.2/(1+2^0.2), 1/(1+2^0.2)]
    const e1 = ens([1 / 5, 4 / 5], [1 / 2, 1 / 2]); // [1/(1+4^0.6), 4^0.6/(1+4^0.6)]
    expect(e0[0]).toBeCloseTo(2 ** 0.2 / (1 + 2 ** 0.2), 12);
    expect(e1[1]).toBeCloseTo(4 ** 0.6 / (1 + 4 ** 0.6), 12);
    const reference = [e0[0] * 0.75, e0[1] * 0.75, 0.25, (e1[0] * 5) / 6, (e1[1] * 5) / 6, 1 / 6].map((p) =>
      ln(p + 1e-8),
    );
    const scores = ensemblePosteriors(teacher, clip, 2, 2, 0.6);
    reference.forEach((r, i) => expect(Math.abs(scores[i] - r)).toBeLessThan(1e-6));

    const result = pseudoLabel(teacher, clip, masks, 2, [2, 2], 4, {
      numClasses: 2,
      isThing: (c) => c === 0,
      alpha: 0.6,
    });
    // q0 keeps class 0 with score 0.75·e0[0] ≈ 0.401, q1 class 1 with (5/6)·e1[1] ≈ 0.581. Upsampled columns: q0 [4, 2, −2, −4],
    // q1 [−4, −2, 2, 4]; score·σ is won by q0 in columns 0–1 (0.394, 0.353 vs 0.010, 0.069) and by q1 in 2–3.
    // Both keep all of their σ ≥ 0.5 pixels (overlap 1 ≥ 0.8): id 1 = thing class 0, id 2 = stuff class 1.
    // Each segment's score is its query's kept class probability, P_ENS · (1 − p_void) (the 1e-8 is below 1e-6).
    expect(result.segments).toEqual([
      { id: 1, isthing: true, category_id: 0, score: expect.closeTo(0.75 * e0[0], 6) },
      { id: 2, isthing: false, category_id: 1, score: expect.closeTo((5 / 6) * e1[1], 6) },
    ]);
    expect([...result.idMap]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]);
    const targets = panopticToHostTargets(
      { width: 4, height: 4, ids: result.idMap, segments: result.segments },
      (c) => c,
    );
    expect([...targets.classes]).toEqual([0, 1]);
    expect([...targets.masks.subarray(0, 16)]).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    expect([...targets.masks.subarray(16)]).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
  });

  it('the pseudo-label covers the padding (no region is ignored) and a void-dominated query is dropped', () => {
    // q0 as above over the whole canvas; q1 is most likely void (p_void 1/2 > its classes) and is dropped.
    const teacher = [ln(2), 0, 0, 0, 0, ln(2)];
    const clip = [0, ln(2), ln(3), 0];
    const result = pseudoLabel(teacher, clip, [4, 4, 4, 4, 4, 4, 4, 4], 2, [2, 2], 4, {
      numClasses: 2,
      isThing: () => true,
      alpha: 0.5,
    });
    expect(result.segments).toHaveLength(1);
    expect([...result.idMap]).toEqual(new Array(16).fill(1));
  });
});

import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng';
import { hungarianMatch } from './matcher';

function bruteForce(cost: number[], q: number, t: number): number {
  const k = Math.min(q, t);
  let best = Infinity;
  const usedQ = new Array(q).fill(false);
  const usedT = new Array(t).fill(false);
  const rec = (depth: number, sum: number, startT: number) => {
    if (depth === k) {
      best = Math.min(best, sum);
      return;
    }
    // Assign targets in order when t ≤ q, else queries in order.
    if (t <= q) {
      const tt = depth;
      for (let qq = 0; qq < q; qq++)
        if (!usedQ[qq]) {
          usedQ[qq] = true;
          rec(depth + 1, sum + cost[qq * t + tt], startT);
          usedQ[qq] = false;
        }
    } else {
      const qq = depth;
      for (let tt = 0; tt < t; tt++)
        if (!usedT[tt]) {
          usedT[tt] = true;
          rec(depth + 1, sum + cost[qq * t + tt], startT);
          usedT[tt] = false;
        }
    }
  };
  rec(0, 0, 0);
  return best;
}

describe('Hungarian matcher', () => {
  it('matches brute force on random small matrices (both orientations, ties)', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const q = rng.int(1, 6);
      const t = rng.int(1, 6);
      const cost = Array.from({ length: q * t }, () => (trial % 3 === 0 ? rng.int(0, 3) : rng.normal()));
      const a = hungarianMatch(cost, q, t);
      expect(a.queries.length).toBe(Math.min(q, t));
      expect(new Set(a.queries).size).toBe(a.queries.length);
      expect(new Set(a.targets).size).toBe(a.targets.length);
      let sum = 0;
      for (let i = 0; i < a.queries.length; i++) sum += cost[a.queries[i] * t + a.targets[i]];
      expect(sum).toBeCloseTo(bruteForce(cost, q, t), 9);
    }
  });

  it('reads a strided cost matrix and handles empty targets', () => {
    const cost = [5, 1, 99, 2, 6, 99, 0, 0, 99];
    const a = hungarianMatch(cost, 3, 2, 3);
    expect(Array.from(a.queries)).toEqual([0, 2]);
    expect(Array.from(a.targets)).toEqual([1, 0]);
    expect(hungarianMatch(cost, 3, 0, 3).queries.length).toBe(0);
  });
});

/**
 * Hungarian matching on the CPU (scipy linear_sum_assignment semantics: minimum total cost, each
 * row and column used at most once, min(rows, cols) pairs). Shortest augmenting paths with
 * potentials, O(n²·m) for n ≤ m.
 */

export interface Assignment {
  /** Query (prediction) index of each pair. */
  queries: Int32Array;
  /** Target index of each pair, in the same order. */
  targets: Int32Array;
}

/**
 * cost: row-major [numQueries, numTargets] (only the first numTargets columns of each row of
 * width `stride` are read). Returns pairs sorted by query index.
 */
export function hungarianMatch(
  cost: ArrayLike<number>,
  numQueries: number,
  numTargets: number,
  stride = numTargets,
): Assignment {
  if (numQueries === 0 || numTargets === 0) return { queries: new Int32Array(0), targets: new Int32Array(0) };
  // Rows = the smaller side.
  const transposed = numTargets > numQueries;
  const n = transposed ? numQueries : numTargets;
  const m = transposed ? numTargets : numQueries;
  const at = (row: number, col: number): number => {
    const v = transposed ? cost[row * stride + col] : cost[col * stride + row];
    if (Number.isNaN(v)) throw new Error('matching cost contains NaN');
    return v;
  };
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const owner = new Int32Array(m + 1); // owner[col] = row (1-based), 0 = free
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    owner[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = owner[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = at(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[owner[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (owner[j0] !== 0);
    do {
      const j1 = way[j0];
      owner[j0] = owner[j1];
      j0 = j1;
    } while (j0);
  }
  const pairs: [number, number][] = [];
  for (let j = 1; j <= m; j++) {
    if (owner[j] === 0) continue;
    const row = owner[j] - 1;
    const col = j - 1;
    pairs.push(transposed ? [row, col] : [col, row]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  return { queries: Int32Array.from(pairs, (p) => p[0]), targets: Int32Array.from(pairs, (p) => p[1]) };
}

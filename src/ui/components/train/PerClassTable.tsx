import { useState } from 'react';
import type { ClassScores } from '../../../../workers/api';
import { formatPercent } from '../../format';

type SortKey = 'name' | 'isthing' | 'pq' | 'sq' | 'rq';

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'name', label: 'class' },
  { key: 'isthing', label: 'kind' },
  { key: 'pq', label: 'PQ' },
  { key: 'sq', label: 'SQ' },
  { key: 'rq', label: 'RQ' },
];

function compare(a: ClassScores, b: ClassScores, key: SortKey): number {
  if (key === 'name') return a.name.localeCompare(b.name);
  if (key === 'isthing') return Number(b.isthing) - Number(a.isthing);
  return a[key] - b[key];
}

/** PQ/SQ/RQ per class of one validation (things and stuff), sortable by any column. */
export function PerClassTable({ scores, iteration }: { scores: ClassScores[]; iteration: number }) {
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'pq', descending: true });
  const rows = [...scores].sort((a, b) => (sort.descending ? -1 : 1) * compare(a, b, sort.key));
  return (
    <table className="data" data-testid="per-class-table">
      <caption className="muted">per class at iteration {iteration} (click a heading to sort)</caption>
      <thead>
        <tr>
          {COLUMNS.map((c) => (
            <th key={c.key} aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
              <button
                type="button"
                className="link"
                onClick={() =>
                  setSort({ key: c.key, descending: sort.key === c.key ? !sort.descending : c.key !== 'name' })
                }
              >
                {c.label}
              </button>
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.name} data-testid="per-class-row">
            <td>{s.name}</td>
            <td>{s.isthing ? 'thing' : 'stuff'}</td>
            <td>{formatPercent(s.pq)}</td>
            <td>{formatPercent(s.sq)}</td>
            <td>{formatPercent(s.rq)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

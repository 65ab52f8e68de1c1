import { useState } from 'react';
import type { MaskInfo } from '../../../../workers/api';
import { ReasonedButton } from '../ReasonedButton';

/** Rows per page: the fallback or SAM can make hundreds of masks, and one table must not make the page thousands of pixels tall. */
const PAGE_SIZE = 20;

const score = (x: number | null) => (x === null ? '—' : x.toFixed(3));

/** The masks of one image, a page at a time (numbered in the order the viewer paints them). */
export function MaskTable({ masks }: { masks: MaskInfo[] }) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(masks.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const first = current * PAGE_SIZE;
  return (
    <>
      <table className="data" data-testid="mask-table">
        <thead>
          <tr>
            <th>mask</th>
            <th>area</th>
            <th>pred. IoU</th>
            <th>stability</th>
          </tr>
        </thead>
        <tbody>
          {masks.slice(first, first + PAGE_SIZE).map((m, i) => (
            <tr key={first + i}>
              <td>
                <span className="swatch" style={{ background: `rgb(${m.color.join(',')})` }} /> {first + i + 1}
              </td>
              <td>{m.area}</td>
              <td>{score(m.predictedIou)}</td>
              <td>{score(m.stabilityScore)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pages > 1 && (
        <div className="row" data-testid="mask-pages">
          <ReasonedButton why={current === 0 ? 'This is the first page.' : null} onClick={() => setPage(current - 1)}>
            Previous
          </ReasonedButton>
          <span>
            masks {first + 1}–{Math.min(masks.length, first + PAGE_SIZE)} of {masks.length}
          </span>
          <ReasonedButton
            why={current === pages - 1 ? 'This is the last page.' : null}
            onClick={() => setPage(current + 1)}
          >
            Next
          </ReasonedButton>
        </div>
      )}
    </>
  );
}

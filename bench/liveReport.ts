/**
 * A benchmark's table as it fills: every row is in `rows` before its figures are measured, and the
 * cell being measured is named in `pending`. The state lives on `window.__benchPartial`, so
 * scripts/bench.mjs can still print and save what was measured when a run passes the bench's overall
 * time limit (the pending cell then reads "> N s"). `measure` also gives one cell its own limit: past
 * it the cell reads "> N s" and the benchmark goes on with the next row.
 */
import type { BenchReport } from './types';

export type Cell = string | number;

/** The cell being measured: rows[row][cell], since startedAt (ms since the epoch, as Date.now()). */
export interface PendingCell {
  row: number;
  cell: number;
  startedAt: number;
}

export interface PartialReport extends BenchReport {
  pending: PendingCell | null;
}

declare global {
  var __benchPartial: PartialReport | undefined;
}

/** "> 12 s": the text of a cell whose measurement ran past `seconds`. */
export function pastLimitCell(seconds: number): string {
  return `> ${seconds >= 10 ? Math.round(seconds) : Number(seconds.toPrecision(2))} s`;
}

export class LiveReport {
  readonly state: PartialReport;
  /** Cells that ran past their limit: [row, cell, limit in s]. */
  readonly pastLimit: [number, number, number][] = [];

  constructor(title: string, columns: string[], figures: Record<string, unknown> = {}) {
    this.state = { title, columns, rows: [], figures, notes: [], pending: null };
    globalThis.__benchPartial = this.state;
  }

  set title(title: string) {
    this.state.title = title;
  }

  get figures(): Record<string, unknown> {
    return this.state.figures;
  }

  /** Appends a row (its cells filled in later, in place) and returns it. */
  row(cells: Cell[]): Cell[] {
    this.state.rows.push(cells);
    return cells;
  }

  /**
   * Runs `work` as the measurement of row[cell]. Past `limitS` seconds the cell reads "> limitS s",
   * the result is undefined and the work is abandoned: JavaScript cannot cancel it, so GPU work
   * already queued may still slow the rows after it (a note says so).
   */
  async measure<T>(row: Cell[], cell: number, work: () => Promise<T>, limitS = Infinity): Promise<T | undefined> {
    const rowIndex = this.state.rows.indexOf(row);
    if (rowIndex < 0) throw new Error('measure: the row is not in this report (add it with row() first)');
    this.state.pending = { row: rowIndex, cell, startedAt: Date.now() };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<'past limit'>((resolve) => {
      if (Number.isFinite(limitS)) timer = setTimeout(() => resolve('past limit'), limitS * 1000);
    });
    try {
      const outcome = await Promise.race([work().then((value) => ({ value })), limit]);
      if (outcome !== 'past limit') return outcome.value;
      row[cell] = pastLimitCell(limitS);
      this.pastLimit.push([rowIndex, cell, limitS]);
      if (this.pastLimit.length === 1) {
        this.state.notes!.push(
          '"> N s": the measurement ran past its limit and was abandoned; work it had queued may have slowed the rows measured after it',
        );
      }
      return undefined;
    } finally {
      clearTimeout(timer);
      this.state.pending = null;
    }
  }

  /** The finished report; `notes` come before the notes `measure` added. */
  report(notes: string[] = []): BenchReport {
    const { title, columns, rows, figures } = this.state;
    return {
      title,
      columns,
      rows,
      figures: { ...figures, pastLimit: this.pastLimit },
      notes: [...notes, ...(this.state.notes ?? [])],
    };
  }
}

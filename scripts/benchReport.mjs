// The table printing of scripts/bench.mjs, and what it saves of a run that did not finish.

/** Prints a report as an aligned table with its notes. */
export function printTable({ title, columns, rows, notes }, print = console.log) {
  const cells = [columns, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => String(c ?? '').padStart(widths[i])).join('  ');
  print(`\n${title}\n${line(columns)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of cells.slice(1)) print(line(r));
  for (const n of notes ?? []) print(`note: ${n}`);
}

export function formatNumber(x) {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/**
 * The report of a run stopped at `nowMs` for `reason` (bench/liveReport.ts's state): the cell being
 * measured reads "> N s" (N = seconds it had run), the rows and figures measured so far are kept.
 */
export function closePartialReport(partial, nowMs, reason) {
  const rows = partial.rows.map((r) => [...r]);
  const notes = [...(partial.notes ?? [])];
  let pastLimit = null;
  if (partial.pending && rows[partial.pending.row]) {
    const seconds = Math.max(0, (nowMs - partial.pending.startedAt) / 1000);
    rows[partial.pending.row][partial.pending.cell] =
      `> ${seconds >= 10 ? Math.round(seconds) : Number(seconds.toPrecision(2))} s`;
    pastLimit = { ...partial.pending, seconds };
  }
  notes.push(
    `INCOMPLETE: ${reason}; the table holds what was measured before${pastLimit ? ', "> N s" is the measurement that was running' : ''}`,
  );
  return {
    title: `${partial.title} (INCOMPLETE)`,
    columns: partial.columns,
    rows,
    figures: { ...partial.figures, incomplete: { reason, pastLimit } },
    notes,
  };
}

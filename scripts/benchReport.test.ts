import { describe, expect, it } from 'vitest';
import { LiveReport, pastLimitCell } from '../bench/liveReport';
import { closePartialReport, printTable } from './benchReport.mjs';

describe('benchmarks keep what they measured', () => {
  it('a cell past its own limit reads "> N s" and the rows after it are still measured', async () => {
    const live = new LiveReport('t', ['what', 'ms']);
    const hung = live.row(['hangs', '']);
    const never = new Promise<number>(() => {});
    expect(await live.measure(hung, 1, () => never, 0.02)).toBeUndefined();
    const next = live.row(['next', '']);
    next[1] = (await live.measure(next, 1, async () => 7, 0.02))!;
    const report = live.report(['first note']);
    expect(report.rows).toEqual([
      ['hangs', '> 0.02 s'],
      ['next', 7],
    ]);
    expect(report.figures.pastLimit).toEqual([[0, 1, 0.02]]);
    expect(report.notes).toHaveLength(2);
    expect(report.notes![0]).toBe('first note');
    expect(globalThis.__benchPartial?.pending).toBeNull();
  });

  it('the page state names the cell being measured while it runs', async () => {
    const live = new LiveReport('t', ['what', 'ms']);
    const row = live.row(['slow', '']);
    let release = () => {};
    const running = live.measure(row, 1, () => new Promise<void>((r) => (release = r)));
    expect(globalThis.__benchPartial?.pending).toMatchObject({ row: 0, cell: 1 });
    release();
    await running;
    expect(globalThis.__benchPartial?.pending).toBeNull();
  });

  it('a run stopped by the overall deadline keeps its rows, the running cell as "> N s"', () => {
    const partial = {
      title: 'SAM',
      columns: ['model', 'measure', 'ours', 'ORT'],
      rows: [
        ['slimsam-77', 'encoder', 510.7, 446.5],
        ['slimsam-77', 'decoder', 330.4, ''],
      ],
      figures: { size: 1024 },
      notes: ['a note'],
      pending: { row: 1, cell: 3, startedAt: 1_000 },
    };
    const report = closePartialReport(partial, 1_000 + 780_400, 'the run passed BENCH_TIMEOUT_S=1800 s');
    expect(report.rows).toEqual([
      ['slimsam-77', 'encoder', 510.7, 446.5],
      ['slimsam-77', 'decoder', 330.4, '> 780 s'],
    ]);
    expect(partial.rows[1][3]).toBe('');
    expect(report.title).toBe('SAM (INCOMPLETE)');
    expect(report.figures).toMatchObject({
      size: 1024,
      incomplete: { reason: 'the run passed BENCH_TIMEOUT_S=1800 s', pastLimit: { row: 1, cell: 3, seconds: 780.4 } },
    });
    const lines: string[] = [];
    printTable(report, (l) => lines.push(l));
    expect(lines.join('\n')).toContain('> 780 s');
    expect(lines.at(-1)).toMatch(/^note: INCOMPLETE: the run passed/);
  });

  it('formats limits as a person would write them', () => {
    expect(pastLimitCell(600)).toBe('> 600 s');
    expect(pastLimitCell(12.4)).toBe('> 12 s');
    expect(pastLimitCell(2.5)).toBe('> 2.5 s');
  });
});

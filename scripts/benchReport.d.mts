import type { BenchReport } from '../bench/types';
import type { PartialReport } from '../bench/liveReport';

export function printTable(
  report: Pick<BenchReport, 'title' | 'columns' | 'rows' | 'notes'>,
  print?: (line: string) => void,
): void;
export function formatNumber(x: number): string;
export function closePartialReport(partial: PartialReport, nowMs: number, reason: string): BenchReport;

/** What every browser benchmark returns: a readable table plus the raw figures for bench-results/NAME.json. */
export interface BenchReport {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** Environment and raw numbers, written as JSON. */
  figures: Record<string, unknown>;
  notes?: string[];
}

export type BrowserBenchmark = (log: (line: string) => void) => Promise<BenchReport>;

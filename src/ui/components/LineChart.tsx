import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

/** A live line chart (uPlot): x values shared by all series; redraws in place as data grows. */
export function LineChart({
  title,
  x,
  series,
  height = 200,
  testId,
  formatY,
}: {
  title: string;
  x: number[];
  series: Series[];
  height?: number;
  testId?: string;
  /** Tick and legend text of y values (default: uPlot's). */
  formatY?: (v: number) => string;
}) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('|');

  useEffect(() => {
    if (!el.current) return;
    const opts: uPlot.Options = {
      title,
      width: el.current.clientWidth || 480,
      height,
      scales: { x: { time: false } },
      axes: [
        { stroke: '#9aa8c0', grid: { stroke: '#2a3750' } },
        {
          stroke: '#9aa8c0',
          grid: { stroke: '#2a3750' },
          size: 60,
          ...(formatY ? { values: (_u: uPlot, ticks: number[]) => ticks.map(formatY) } : {}),
        },
      ],
      series: [
        { label: 'iteration' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: true,
          ...(formatY ? { value: (_u: uPlot, v: number | null) => (v === null ? '--' : formatY(v)) } : {}),
        })),
      ],
    };
    plot.current = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el.current);
    const obs = new ResizeObserver(() => plot.current?.setSize({ width: el.current?.clientWidth || 480, height }));
    obs.observe(el.current);
    return () => {
      obs.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuild only when the set of series changes; data updates go through setData below.
  }, [title, labels, height]);

  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [x, series]);

  return <div ref={el} className="chart" data-testid={testId} data-points={x.length} />;
}

import { useMemo } from 'react';
import type { MaskRecallPoint } from '../../../../workers/api';
import { formatPercent } from '../../format';
import { LineChart } from '../LineChart';

/** Recall at IoU 0.5 and 0.75: the first and sixth of the thresholds 0.50:0.05:0.95. */
const AT_50 = 0;
const AT_75 = 5;

/** DeWa's validation in place of PQ: class-agnostic mask recall and AR (IoU 0.50:0.95) on the validation split. */
export function MaskRecallView({ points }: { points: MaskRecallPoint[] }) {
  const chart = useMemo(
    () => ({
      x: points.map((p) => p.iteration),
      series: [
        { label: 'AR', color: '#e6ebf4', values: points.map((p) => 100 * p.averageRecall) },
        { label: 'recall@0.5', color: '#4f8cff', values: points.map((p) => 100 * p.recall[AT_50]) },
        { label: 'recall@0.75', color: '#30a46c', values: points.map((p) => 100 * p.recall[AT_75]) },
      ],
    }),
    [points],
  );
  const last = points.at(-1);
  return (
    <>
      <LineChart title="Mask recall on validation (%)" x={chart.x} series={chart.series} testId="recall-chart" />
      {last ? (
        <table className="data" data-testid="last-recall" data-ar={last.averageRecall}>
          <thead>
            <tr>
              <th>iteration {last.iteration}</th>
              <th title="Average recall over IoU 0.50:0.05:0.95 of every query's mask">AR</th>
              <th>recall@0.5</th>
              <th>recall@0.75</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>
                {last.masks} masks in {last.images} images
              </td>
              <td>{formatPercent(last.averageRecall)}</td>
              <td>{formatPercent(last.recall[AT_50])}</td>
              <td>{formatPercent(last.recall[AT_75])}</td>
            </tr>
          </tbody>
        </table>
      ) : (
        <p className="muted">Mask recall appears after the first validation (choose a validation dataset).</p>
      )}
    </>
  );
}

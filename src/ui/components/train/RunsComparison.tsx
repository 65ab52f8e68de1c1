import { useMemo } from 'react';
import { formatPercent } from '../../format';
import { useTrainingStore } from '../../stores/trainingStore';
import { LineChart } from '../LineChart';
import { STAGE_NAMES } from './RunsList';

/** One colour per compared run, in the order picked. */
const RUN_COLORS = ['#e6ebf4', '#4f8cff', '#f5a524', '#30a46c', '#ff6b6b', '#b07cff', '#2ec4b6', '#ffd166'];

/** The runs ticked on the runs list: validation PQ curves overlaid, and each run's final figures as it stored them. */
export function RunsComparison() {
  const comparison = useTrainingStore((s) => s.comparison);
  const series = useMemo(
    () =>
      (comparison?.runs ?? []).map((r, i) => ({
        // The id keeps two runs of one name apart in the legend.
        label: `${r.name} (${r.id.slice(-4)})`,
        color: RUN_COLORS[i % RUN_COLORS.length],
        values: r.pq.map((pq) => (pq === null ? null : 100 * pq)),
      })),
    [comparison],
  );
  if (!comparison) return null;
  return (
    <div data-testid="runs-comparison">
      <LineChart
        title="Validation PQ (%) of the compared runs"
        x={comparison.iterations}
        series={series}
        testId="compare-chart"
      />
      <table className="data" data-testid="compare-table">
        <thead>
          <tr>
            <th>run</th>
            <th>stage</th>
            <th>validated at</th>
            <th>PQ</th>
            <th>SQ</th>
            <th>RQ</th>
            <th>mIoU</th>
          </tr>
        </thead>
        <tbody>
          {comparison.runs.map((r, i) => (
            <tr key={r.id} data-testid="compare-row" data-run-id={r.id}>
              <td>
                <span style={{ color: RUN_COLORS[i % RUN_COLORS.length] }}>■</span> {r.name}
              </td>
              <td>{STAGE_NAMES[r.kind]}</td>
              {r.final ? (
                <>
                  <td>iteration {r.final.iteration}</td>
                  {[r.final.pq, r.final.sq, r.final.rq, r.final.miou].map((v, k) => (
                    <td key={k} data-testid="compare-figure">
                      {formatPercent(v)}
                    </td>
                  ))}
                </>
              ) : (
                <td colSpan={5} className="muted">
                  not validated
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

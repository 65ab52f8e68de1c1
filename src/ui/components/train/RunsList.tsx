import { useState } from 'react';
import type { RunSummary } from '../../../../workers/api';
import { formatPercent } from '../../format';
import { useTrainingStore } from '../../stores/trainingStore';
import { ReasonedButton, WAIT } from '../ReasonedButton';

export const STAGE_NAMES: Record<RunSummary['kind'], string> = {
  supervised: 'supervised',
  dewa: 'DeWa',
  meanTeacher: 'Mean Teacher',
};

function RunName({ run }: { run: RunSummary }) {
  const renameRun = useTrainingStore((s) => s.renameRun);
  const [draft, setDraft] = useState(run.name);
  const commit = () => {
    if (draft.trim() !== run.name) void renameRun(run.id, draft);
  };
  return (
    <input
      aria-label={`name of run ${run.name}`}
      data-testid="run-name"
      value={draft}
      maxLength={80}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
      }}
    />
  );
}

/** PQ, or for a DeWa run its mask recall, labelled as such. */
function runFigure(pq: number | null, ar: number | null): string {
  if (pq !== null) return formatPercent(pq);
  return ar === null ? '—' : `AR ${formatPercent(ar)}`;
}

/** Every stored run: opening one shows its curves and predictions, and offers Resume. */
export function RunsList() {
  const { runs, run: shown, openRun, deleteRun, busy, compared, toggleCompared } = useTrainingStore();
  if (runs.length === 0) return <p className="muted">No runs yet: a run you start is kept here until you delete it.</p>;
  const training = runs.some((r) => r.status === 'running');
  return (
    <table className="data" data-testid="runs-list">
      <thead>
        <tr>
          <th title="Tick runs to compare their validation curves and final figures">compare</th>
          <th>name</th>
          <th>stage</th>
          <th>datasets</th>
          <th>preset</th>
          <th>status</th>
          <th>iteration</th>
          <th title="Validation PQ; DeWa runs show their mask recall (AR) instead">last PQ</th>
          <th title="Validation PQ; DeWa runs show their mask recall (AR) instead">best PQ</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr
            key={r.id}
            data-testid="run-row"
            data-run-id={r.id}
            data-status={r.status}
            className={r.id === shown?.id ? 'selected' : ''}
          >
            <td>
              <input
                type="checkbox"
                aria-label={`compare run ${r.name}`}
                data-testid="run-compare"
                checked={compared.includes(r.id)}
                onChange={() => void toggleCompared(r.id)}
              />
            </td>
            <td>
              <RunName key={r.name} run={r} />
            </td>
            <td>{STAGE_NAMES[r.kind]}</td>
            <td>{r.datasets.join(', ')}</td>
            <td>{r.preset}</td>
            <td>{r.status}</td>
            <td>
              {r.iteration} / {r.totalIterations}
            </td>
            <td>{runFigure(r.lastPq, r.lastAr)}</td>
            <td>{runFigure(r.bestPq, r.bestAr)}</td>
            <td className="row">
              <ReasonedButton
                data-testid="run-open"
                why={r.id === shown?.id ? 'This run is shown below.' : null}
                onClick={() => void openRun(r.id)}
              >
                Open
              </ReasonedButton>
              <ReasonedButton
                data-testid="run-delete"
                why={r.status === 'running' ? 'Pause this run before deleting it.' : busy ? WAIT : null}
                onClick={() => {
                  if (window.confirm(`Delete the run "${r.name}"? Its checkpoint and curves are removed.`))
                    void deleteRun(r.id);
                }}
              >
                Delete
              </ReasonedButton>
            </td>
          </tr>
        ))}
      </tbody>
      {training && (
        <caption className="muted" style={{ captionSide: 'bottom' }}>
          One run trains at a time: pause it to resume another.
        </caption>
      )}
    </table>
  );
}

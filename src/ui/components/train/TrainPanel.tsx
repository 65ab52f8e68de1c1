import { useEffect, useMemo } from 'react';
import type { RunView } from '../../../../workers/api';
import { formatPercent } from '../../format';
import { useTrainingStore } from '../../stores/trainingStore';
import { LineChart } from '../LineChart';
import { Messages } from '../Messages';
import { ProgressBar } from '../ProgressBar';
import { PerClassTable } from './PerClassTable';
import { MaskRecallView } from './MaskRecallView';
import { MeanTeacherPanel } from './MeanTeacherPanel';
import { PredictionGrid } from './PredictionGrid';
import { RunsComparison } from './RunsComparison';
import { RunsList } from './RunsList';
import { TrainForm } from './TrainForm';
import { ReasonedButton, WAIT } from '../ReasonedButton';

function RunStatus({ run }: { run: RunView }) {
  const { pause, resume, busy } = useTrainingStore();
  const last = run.losses.at(-1);
  const rate = last?.iterationsPerSecond ?? 0;
  const eta = rate > 0 ? (run.totalIterations - run.iteration) / rate : undefined;
  return (
    <div className="row" data-testid="run-status" data-status={run.status} data-iteration={run.iteration}>
      <span
        className={`badge ${run.status === 'failed' ? 'badge-error' : run.status === 'running' ? 'badge-ok' : ''}`}
        data-testid="run-state"
      >
        {run.status}
      </span>
      <span data-testid="train-iteration">iteration {run.iteration}</span>
      <ProgressBar
        done={run.iteration}
        total={run.totalIterations}
        rate={rate}
        rateUnit="it/s"
        etaSeconds={run.status === 'running' ? eta : undefined}
      />
      {run.status === 'running' ? (
        <ReasonedButton data-testid="train-pause" why={busy ? WAIT : null} onClick={() => void pause()}>
          Pause
        </ReasonedButton>
      ) : run.status === 'paused' || run.status === 'failed' ? (
        <ReasonedButton data-testid="train-resume" why={busy ? WAIT : null} onClick={() => void resume()}>
          Resume
        </ReasonedButton>
      ) : null}
      <span className="muted">
        {run.config.kind} · {run.config.preset} · {(run.parameterCount / 1e6).toFixed(2)} M params · {run.backbone}
      </span>
    </div>
  );
}

/** "Run DEARLi": which step runs, its progress and ETA; pause and resume. */
function DearliStatus() {
  const { dearli, dearliProgress, pauseDearli, runDearli, busy } = useTrainingStore();
  if (!dearli && !dearliProgress) return null;
  const running = dearli?.status === 'running' || (busy && !!dearliProgress && dearli === null);
  return (
    <div
      className="row"
      data-testid="dearli-status"
      data-status={dearli?.status ?? 'running'}
      data-step={dearliProgress?.step ?? ''}
    >
      <strong>Run DEARLi</strong>
      {dearliProgress && (
        <>
          <span data-testid="dearli-step">
            step {dearliProgress.stepIndex + 1}/4: {dearliProgress.step}
          </span>
          <ProgressBar
            done={dearliProgress.done}
            total={dearliProgress.total}
            etaSeconds={running && dearliProgress.etaSeconds !== null ? dearliProgress.etaSeconds : undefined}
          />
        </>
      )}
      {dearli && <span className="muted">{dearli.status}</span>}
      {running ? (
        <button type="button" data-testid="dearli-pause" onClick={() => void pauseDearli()}>
          Pause
        </button>
      ) : dearli?.status === 'paused' || dearli?.status === 'failed' ? (
        <ReasonedButton data-testid="dearli-resume" why={busy ? WAIT : null} onClick={() => void runDearli(null)}>
          Resume DEARLi
        </ReasonedButton>
      ) : null}
    </div>
  );
}

/** The names the run's classifier was built from (kept on resume, whatever the Models tab says now). */
function RunClasses({ classNames }: { classNames: string[][] }) {
  if (classNames.length === 0) return null;
  return (
    <p className="muted" data-testid="train-classes">
      classes:{' '}
      {classNames
        .map(([name, ...synonyms]) => (synonyms.length > 0 ? `${name} (${synonyms.join(', ')})` : name))
        .join(' · ')}
    </p>
  );
}

function Curves({ run }: { run: RunView }) {
  const loss = useMemo(() => {
    const x = run.losses.map((l) => l.iteration);
    return {
      x,
      series: [
        { label: 'total', color: '#e6ebf4', values: run.losses.map((l) => l.total) },
        { label: 'class', color: '#f5a524', values: run.losses.map((l) => l.classLoss) },
        { label: 'mask (BCE)', color: '#4f8cff', values: run.losses.map((l) => l.maskLoss) },
        { label: 'dice', color: '#30a46c', values: run.losses.map((l) => l.diceLoss) },
        // Mean Teacher: the labeled and pseudo-labeled terms, and α (its changes show as steps).
        ...(run.config.kind === 'meanTeacher'
          ? [
              { label: 'supervised', color: '#ff6b6b', values: run.losses.map((l) => l.supervised ?? null) },
              { label: 'unlabeled', color: '#2ec4b6', values: run.losses.map((l) => l.unlabeled ?? null) },
              { label: 'α', color: '#ffd166', values: run.losses.map((l) => l.alpha ?? null) },
            ]
          : []),
      ],
      lr: [{ label: 'learning rate', color: '#b07cff', values: run.losses.map((l) => l.learningRate) }],
    };
  }, [run.losses, run.config.kind]);
  const quality = useMemo(
    () => ({
      x: run.evals.map((e) => e.iteration),
      series: [
        { label: 'PQ', color: '#e6ebf4', values: run.evals.map((e) => 100 * e.pq) },
        { label: 'SQ', color: '#4f8cff', values: run.evals.map((e) => 100 * e.sq) },
        { label: 'RQ', color: '#30a46c', values: run.evals.map((e) => 100 * e.rq) },
        { label: 'mIoU', color: '#f5a524', values: run.evals.map((e) => 100 * e.miou) },
      ],
    }),
    [run.evals],
  );
  const lastEval = run.evals.at(-1);
  return (
    <div className="curves">
      <LineChart title="Losses" x={loss.x} series={loss.series} testId="loss-chart" />
      <LineChart title="Learning rate" x={loss.x} series={loss.lr} height={120} formatY={(v) => v.toExponential(1)} />
      {run.config.kind === 'supervised' && (
        <LineChart title="Validation (%)" x={quality.x} series={quality.series} testId="pq-chart" />
      )}
      {run.config.kind === 'dewa' && <MaskRecallView points={run.recallEvals ?? []} />}
      {lastEval && (
        <table className="data" data-testid="last-eval">
          <thead>
            <tr>
              <th>iteration {lastEval.iteration}</th>
              <th>PQ</th>
              <th>SQ</th>
              <th>RQ</th>
              <th>PQ things</th>
              <th>PQ stuff</th>
              <th>mIoU</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>{lastEval.images} images</td>
              {[lastEval.pq, lastEval.sq, lastEval.rq, lastEval.pqThings, lastEval.pqStuff, lastEval.miou].map(
                (v, i) => (
                  <td key={i}>{formatPercent(v)}</td>
                ),
              )}
            </tr>
          </tbody>
        </table>
      )}
      {lastEval?.perClass && <PerClassTable scores={lastEval.perClass} iteration={lastEval.iteration} />}
      {run.timings && (
        <p className="muted" data-testid="train-timings">
          per iteration: data + backbone {run.timings.dataMs.toFixed(0)} ms · decoder forward + readback{' '}
          {run.timings.forwardAndReadbackMs.toFixed(0)} ms · matching {run.timings.matchingMs.toFixed(1)} ms · loss +
          backward + AdamW {run.timings.lossAndUpdateMs.toFixed(0)} ms
          {run.timings.pseudoLabelsMs !== undefined &&
            ` · pseudo-labels (host) ${run.timings.pseudoLabelsMs.toFixed(0)} ms`}
        </p>
      )}
    </div>
  );
}

export function TrainPanel() {
  const { run, message, connect } = useTrainingStore();
  useEffect(() => {
    void connect();
  }, [connect]);
  const running = run?.status === 'running';
  return (
    <>
      <section className="panel">
        <h2>Train the decoder</h2>
        <TrainForm disabled={running} />
        {message && <Messages items={[message]} testId="train-messages" />}
        <DearliStatus />
        {run && <RunStatus run={run} />}
        {run && <RunClasses classNames={run.classNames} />}
      </section>
      <section className="panel">
        <h2>Runs</h2>
        <RunsList />
        <RunsComparison />
      </section>
      {run && (
        <section className="panel">
          <h2>Curves</h2>
          <Curves run={run} />
        </section>
      )}
      {run?.config.kind === 'meanTeacher' && (
        <section className="panel" data-testid="mt-panel">
          <h2>Mean Teacher</h2>
          <MeanTeacherPanel run={run} />
        </section>
      )}
      {run && run.config.kind !== 'dewa' && (
        <section className="panel">
          <h2>Validation predictions</h2>
          <PredictionGrid />
        </section>
      )}
    </>
  );
}

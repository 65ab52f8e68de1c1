import { useEffect, useRef, useState } from 'react';
import type { EvalPoint, PseudoLabelStripView, RunView } from '../../../../workers/api';
import { formatPercent } from '../../format';
import { useTrainingStore } from '../../stores/trainingStore';
import { LineChart } from '../LineChart';
import { ReasonedButton, WAIT } from '../ReasonedButton';

function Rgba({ rgba, size, label }: { rgba: Uint8ClampedArray; size: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    ref.current.width = size;
    ref.current.height = size;
    ref.current.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), size, size), 0, 0);
  }, [rgba, size]);
  return (
    <figure className="pred-cell">
      <canvas ref={ref} style={{ width: 128, height: 128, imageRendering: 'pixelated' }} />
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** weak view | teacher P_MT | CLIP P_CLIP | P_ENS pseudo-label, per unlabeled image. */
function PseudoLabelStrip({ strip }: { strip: PseudoLabelStripView }) {
  return (
    <div
      className="pred-grid"
      data-testid="pseudo-strip"
      data-alpha={strip.alpha}
      data-decoder-runs={strip.decoderRuns}
    >
      {strip.items.map((it) => (
        <div className="pred-row" key={it.imageId} data-testid="pseudo-strip-row">
          <Rgba rgba={it.weakView} size={strip.crop} label={`${it.fileName} (weak view)`} />
          <Rgba rgba={it.teacher} size={strip.crop} label="teacher P_MT" />
          <Rgba rgba={it.clip} size={strip.crop} label="CLIP P_CLIP" />
          <Rgba rgba={it.ensemble} size={strip.crop} label={`P_ENS, α ${strip.alpha.toFixed(2)}`} />
        </div>
      ))}
    </div>
  );
}

/** PQ/SQ/RQ/mIoU of student or teacher, with or without test-time ensembling with CLIP. */
function qualitySeries(evals: EvalPoint[], ensembled: boolean) {
  const pick = (e: EvalPoint) => (ensembled && e.ensembled ? e.ensembled : e);
  return [
    { label: 'PQ', color: '#e6ebf4', values: evals.map((e) => 100 * pick(e).pq) },
    { label: 'SQ', color: '#4f8cff', values: evals.map((e) => 100 * pick(e).sq) },
    { label: 'RQ', color: '#30a46c', values: evals.map((e) => 100 * pick(e).rq) },
    { label: 'mIoU', color: '#f5a524', values: evals.map((e) => 100 * pick(e).miou) },
  ];
}

/** Iterations the "recent pseudo-labels" figure averages over. */
const RECENT = 10;

/**
 * Segments per unlabeled image in the teacher's pseudo-labels, per iteration. Near 0 the unlabeled half
 * teaches "no object" to every query (a fresh decoder's start; the ablation's Mean Teacher rows).
 */
function PseudoLabelSegments({ perIteration }: { perIteration: number[] }) {
  const filled = perIteration.map((v, i) => ({ iteration: i + 1, v })).filter((p) => p.v !== undefined);
  if (filled.length === 0) return null;
  const recent = filled.slice(-RECENT);
  const mean = recent.reduce((a, p) => a + p.v, 0) / recent.length;
  return (
    <>
      <LineChart
        title="Segments per unlabeled image in the teacher's pseudo-labels"
        x={filled.map((p) => p.iteration)}
        series={[{ label: 'segments', color: '#2ec4b6', values: filled.map((p) => p.v) }]}
        height={120}
        testId="mt-pseudo-segments-chart"
      />
      <p className={mean < 0.5 ? 'warning' : 'muted'} data-testid="mt-pseudo-segments" data-mean={mean}>
        {mean.toFixed(2)} segments per image over the last {recent.length} iterations
        {mean < 0.5 &&
          ': the teacher finds almost nothing, so the unlabeled half teaches "no object" to every query. Start from a DeWa run, or train longer (a fresh decoder predicts no object at first).'}
      </p>
    </>
  );
}

/** Mean Teacher: α (slider + number, applied from the next iteration), student/teacher validation, the α sweep and the pseudo-label strip. */
export function MeanTeacherPanel({ run }: { run: RunView }) {
  const { alpha, setAlpha, sweep, runSweep, strip, loadStrip, busy } = useTrainingStore();
  const [withEnsemble, setWithEnsemble] = useState(true);
  useEffect(() => {
    if (!strip && run.iteration > 0) void loadStrip(false);
  }, [strip, run.iteration, loadStrip]);
  const x = run.evals.map((e) => e.iteration);
  const last = run.evals.at(-1);
  const lastTeacher = run.teacherEvals?.at(-1);
  return (
    <>
      <div className="row">
        <label>
          α (weight of P_MT; 1 − α on CLIP){' '}
          <input
            data-testid="mt-alpha-slider"
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={alpha}
            onChange={(e) => void setAlpha(Number(e.target.value))}
          />
        </label>
        <input
          data-testid="mt-alpha"
          type="number"
          min={0}
          max={1}
          step={0.05}
          value={alpha}
          onChange={(e) => void setAlpha(Number(e.target.value))}
          style={{ width: 70 }}
        />
        <span className="muted" data-testid="mt-alpha-history">
          α history:{' '}
          {(run.alphaHistory ?? [])
            .map((c) => `${c.alpha} from it. ${c.iteration} (${c.source ?? 'config'})`)
            .join(' · ')}
        </span>
        {run.config.adaptiveAlpha && (
          <span className="muted" data-testid="mt-adaptive">
            adaptive α: best of a sweep every {run.config.adaptiveAlpha.every} iterations
          </span>
        )}
      </div>
      <div className="row">
        <label>
          <input
            data-testid="mt-tte"
            type="checkbox"
            checked={withEnsemble}
            onChange={(e) => setWithEnsemble(e.target.checked)}
          />{' '}
          test-time ensembling with CLIP
        </label>
        {last && (
          <span data-testid="mt-tte-figures">
            student PQ {formatPercent(last.pq)} alone ·{' '}
            {last.ensembled
              ? `${formatPercent(last.ensembled.pq)} ensembled (α ${last.ensembled.alpha})`
              : 'ensembling off for this run'}
            {lastTeacher && ` · teacher PQ ${formatPercent(lastTeacher.pq)} alone`}
          </span>
        )}
      </div>
      <div className="curves side-by-side">
        <LineChart
          title={`Student validation (%)${withEnsemble ? ', ensembled' : ''}`}
          x={x}
          series={qualitySeries(run.evals, withEnsemble)}
          testId="mt-student-chart"
        />
        <LineChart
          title={`Teacher validation (%)${withEnsemble ? ', ensembled' : ''}`}
          x={(run.teacherEvals ?? []).map((e) => e.iteration)}
          series={qualitySeries(run.teacherEvals ?? [], withEnsemble)}
          testId="mt-teacher-chart"
        />
      </div>
      <div className="row">
        <ReasonedButton
          data-testid="mt-sweep"
          why={run.status === 'running' ? 'Pause the run to sweep α.' : busy ? WAIT : null}
          onClick={() => void runSweep()}
        >
          Sweep α
        </ReasonedButton>
        {sweep && (
          <span data-testid="mt-sweep-best">
            best α {sweep.best.alpha.toFixed(1)}: PQ {formatPercent(sweep.best.pq)} (teacher at iteration{' '}
            {sweep.iteration}, {sweep.images} images){' '}
            <button
              type="button"
              data-testid="mt-use-best-alpha"
              disabled={busy || sweep.best.alpha === alpha}
              onClick={() => void setAlpha(sweep.best.alpha, 'sweep')}
            >
              Use best α
            </button>
          </span>
        )}
      </div>
      {sweep && (
        <LineChart
          title="PQ(α) of the teacher ensembled with CLIP (%)"
          x={sweep.points.map((p) => p.alpha)}
          series={[
            { label: 'PQ', color: '#e6ebf4', values: sweep.points.map((p) => 100 * p.pq) },
            {
              label: 'best',
              color: '#f5a524',
              values: sweep.points.map((p) => (p.alpha === sweep.best.alpha ? 100 * p.pq : null)),
            },
          ]}
          testId="mt-sweep-chart"
        />
      )}
      <h3>Pseudo-labels</h3>
      <PseudoLabelSegments perIteration={run.pseudoLabelSegments ?? []} />
      {strip ? (
        <PseudoLabelStrip strip={strip} />
      ) : (
        <p className="muted">The strip appears once the teacher has trained an iteration.</p>
      )}
    </>
  );
}

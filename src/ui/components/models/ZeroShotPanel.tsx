import { useEffect } from 'react';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { useModelsStore } from '../../stores/modelsStore';
import { ProgressBar } from '../ProgressBar';
import { ClassNamesEditor } from './ClassNamesEditor';
import { ReasonedButton } from '../ReasonedButton';

const pct = (x: number) => x.toFixed(1);

/** Per dataset: class names → text embeddings, the CLIP feature stage, and zero-shot PQ with GT masks. */
export function ZeroShotPanel() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const {
    datasetId,
    clipCard,
    stage,
    stageProgress,
    features,
    report,
    selectDataset,
    runFeatures,
    evaluate,
    cancelStage,
  } = useModelsStore();
  const current = datasets.find((d) => d.id === datasetId) ?? null;
  // The remembered dataset, else the first validation set (the paper's Fig. 3 evaluates there).
  const target =
    current ??
    datasets.find((d) => d.role === 'validation') ??
    datasets.find((d) => d.role === 'labeled') ??
    datasets[0] ??
    null;
  const targetId = target?.id ?? null;

  useEffect(() => {
    if (targetId) void selectDataset(targetId);
  }, [targetId, selectDataset]);
  const featuresBlocked = !clipCard
    ? 'Load CLIP above first.'
    : stage !== 'idle'
      ? 'A stage is running: wait for it or cancel it.'
      : !current
        ? 'Import a dataset first (Data tab).'
        : null;

  return (
    <section className="panel" data-testid="zeroshot-panel">
      <h2>
        Features and zero-shot classification{' '}
        <small>mask pooling of the dense res5 map under every ground-truth segment</small>
      </h2>
      <div className="row">
        <label>
          Dataset{' '}
          <select data-testid="zs-dataset" value={datasetId ?? ''} onChange={(e) => void selectDataset(e.target.value)}>
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.role})
              </option>
            ))}
          </select>
        </label>
        <ReasonedButton data-testid="run-features" why={featuresBlocked} onClick={() => void runFeatures()}>
          Compute CLIP features
        </ReasonedButton>
        <ReasonedButton
          data-testid="run-zeroshot"
          why={
            featuresBlocked ??
            (current?.role === 'unlabeled'
              ? 'This dataset is unlabeled: the evaluation needs ground-truth masks, choose a labeled one.'
              : null)
          }
          onClick={() => void evaluate()}
        >
          Evaluate zero-shot with GT masks
        </ReasonedButton>
        {stage !== 'idle' && (
          <button type="button" data-testid="stage-cancel" onClick={() => void cancelStage()}>
            Cancel
          </button>
        )}
      </div>
      {!clipCard && <p className="warning">Load CLIP above to compute features and evaluate.</p>}
      {stage !== 'idle' && (
        <ProgressBar
          done={stageProgress?.done ?? 0}
          total={stageProgress?.total ?? current?.imageCount ?? 0}
          rate={stageProgress?.rate}
          rateUnit="images/s"
          etaSeconds={stageProgress?.etaSeconds}
          label={stageProgress?.label ?? stage}
        />
      )}
      {features && (
        <p data-testid="features-summary">
          Features: {features.computed} computed, {features.reused} reused from the cache · input {features.side}×
          {features.side} px → res5 {features.grid[0]}×{features.grid[1]}×{features.channels}
        </p>
      )}
      <ClassNamesEditor />
      {report && (
        <>
          <p data-testid="zeroshot-summary">
            {report.datasetName}: PQ {pct(report.all.pq)} · SQ {pct(report.all.sq)} · RQ {pct(report.all.rq)} (things PQ{' '}
            {pct(report.things.pq)}, stuff PQ {pct(report.stuff.pq)}) · mIoU {pct(report.miou)} · {report.images}{' '}
            images, {report.segments} segments · model {report.modelName} ·{' '}
            <span data-testid="zeroshot-evaluator">evaluator: {report.evaluator}</span>
          </p>
          <table className="data" data-testid="zeroshot-table">
            <thead>
              <tr>
                <th>class</th>
                <th>kind</th>
                <th>PQ</th>
                <th>SQ</th>
                <th>RQ</th>
                <th>segments</th>
                <th>correct</th>
              </tr>
            </thead>
            <tbody>
              {report.perClass.map((c) => (
                <tr key={c.id} data-testid="zeroshot-row" data-class={c.name}>
                  <td>{c.name}</td>
                  <td>{c.isthing ? 'thing' : 'stuff'}</td>
                  <td data-testid="zeroshot-pq">{pct(c.pq)}</td>
                  <td>{pct(c.sq)}</td>
                  <td>{pct(c.rq)}</td>
                  <td>{c.gtSegments}</td>
                  <td>{c.correctSegments}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

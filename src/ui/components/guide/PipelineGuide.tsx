import { useEffect, useState } from 'react';
import { pipeline } from '../../pipeline';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { useModelsStore } from '../../stores/modelsStore';
import { useTrainingStore } from '../../stores/trainingStore';
import { guideSteps, type GuideStep } from './steps';

const ACTION: Record<GuideStep['tab'], string> = {
  data: 'Go to Data and import',
  models: 'Go to Models',
  masks: 'Go to Masks and press "Run mask stage"',
  train: 'Go to Train and press Start',
};

/** Data → Models → Masks → Train with each step's state, and the one action that moves on. */
export function PipelineGuide({ tab, onGo }: { tab: string; onGo: (tab: GuideStep['tab']) => void }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  const clip = useModelsStore((s) => s.clipCard);
  const runs = useTrainingStore((s) => s.runs);
  const refreshRuns = useTrainingStore((s) => s.refreshRuns);
  const [masked, setMasked] = useState<Record<string, number>>({});
  useEffect(() => {
    void refreshRuns();
  }, [refreshRuns]);
  useEffect(() => {
    if (datasets.length === 0) return;
    void pipeline()
      .maskStats(datasets.map((d) => d.id))
      .then((stats) => setMasked(Object.fromEntries(stats.map((s) => [s.datasetId, s.processed]))));
  }, [datasets, tab]);
  const { steps, next } = guideSteps({ datasets, clip: clip?.name ?? null, masked, runs });
  return (
    <nav className="guide" aria-label="pipeline guide" data-testid="guide">
      <ol className="row">
        {steps.map((s) => (
          <li
            key={s.tab}
            data-testid={`guide-step-${s.tab}`}
            data-state={s.state}
            title={s.detail}
            className={s.tab === tab ? 'current' : ''}
          >
            <strong>{s.title}</strong> <span className="badge">{s.state}</span>{' '}
            <span className="muted">{s.detail}</span>
          </li>
        ))}
      </ol>
      {next ? (
        <button type="button" data-testid="guide-next" onClick={() => onGo(next.tab)}>
          Next: {ACTION[next.tab]}
        </button>
      ) : (
        <span className="muted">Every step is done.</span>
      )}
    </nav>
  );
}

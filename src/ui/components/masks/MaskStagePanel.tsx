import type { MaskStageSettings } from '../../../../workers/masksApi';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { DEFAULT_MASK_SETTINGS, useMasksStore } from '../../stores/masksStore';
import { ProgressBar } from '../ProgressBar';

const FIELDS: { key: keyof MaskStageSettings; label: string; step: number; testId: string }[] = [
  { key: 'pointsPerSide', label: 'points per side', step: 1, testId: 'mask-points' },
  { key: 'predIouThresh', label: 'predicted IoU ≥', step: 0.01, testId: 'mask-iou' },
  { key: 'stabilityScoreThresh', label: 'stability ≥', step: 0.01, testId: 'mask-stability' },
  { key: 'boxNmsThresh', label: 'box NMS IoU', step: 0.05, testId: 'mask-nms' },
];

/** Which datasets to mask, the generator settings, run / pause, and what is stored per dataset. */
export function MaskStagePanel() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const { selected, settings, running, progress, summary, stats, generator, toggle, setSettings, run, pause } = useMasksStore();
  const statsOf = new Map(stats.map((s) => [s.datasetId, s]));
  return (
    <section className="panel" data-testid="mask-stage">
      <h2>
        Class-agnostic masks <small>stored per image; a rerun skips images already done with the same generator and settings</small>
      </h2>
      <ul className="datasets">
        {datasets.map((d) => {
          const s = statsOf.get(d.id);
          return (
            <li key={d.id} className="row" data-testid="mask-dataset" data-name={d.name}>
              <label>
                <input type="checkbox" data-testid="mask-dataset-check" checked={selected.includes(d.id)} disabled={running} onChange={() => toggle(d.id)} /> {d.name}
              </label>
              <span data-testid="mask-stats" data-processed={s?.processed ?? 0}>
                {s ? `${s.processed} / ${s.images} images masked` : `${d.imageCount} images`}
                {s && s.processed > 0 ? ` (SAM ${s.bySource.sam}, fallback ${s.bySource.fallback}, imported ${s.bySource.imported})` : ''}
              </span>
            </li>
          );
        })}
      </ul>
      <div className="row">
        {FIELDS.map((f) => (
          <label key={f.key}>
            {f.label}{' '}
            <input
              type="number"
              data-testid={f.testId}
              step={f.step}
              min={0}
              style={{ width: 70 }}
              disabled={running}
              value={settings[f.key]}
              onChange={(e) => setSettings({ ...settings, [f.key]: Number(e.target.value) })}
            />
          </label>
        ))}
        <button type="button" disabled={running} onClick={() => setSettings(DEFAULT_MASK_SETTINGS)}>
          SAM defaults
        </button>
      </div>
      {generator?.kind !== 'sam' && <p className="warning">No SAM weights loaded: the stage uses the Felzenszwalb fallback (the settings above apply to SAM only).</p>}
      <div className="row">
        <button type="button" data-testid="mask-run" disabled={running || selected.length === 0} onClick={() => void run()}>
          {summary?.paused ? 'Resume' : 'Run'} mask stage
        </button>
        {running && (
          <button type="button" data-testid="mask-pause" onClick={() => void pause()}>
            Pause
          </button>
        )}
      </div>
      {running && (
        <ProgressBar
          done={progress?.done ?? 0}
          total={progress?.total ?? 0}
          rate={progress?.imagesPerSecond}
          rateUnit="images/s"
          etaSeconds={progress?.etaSeconds}
          label={`${progress?.generator === 'sam' ? 'SAM' : 'fallback'}${progress?.current ? ` · ${progress.current}` : ''}`}
        />
      )}
      {summary && (
        <p data-testid="mask-summary" data-computed={summary.computed} data-skipped={summary.skipped}>
          {summary.paused ? 'Paused' : 'Done'} ({summary.generator}): {summary.computed} images masked, {summary.skipped} already done.
        </p>
      )}
    </section>
  );
}

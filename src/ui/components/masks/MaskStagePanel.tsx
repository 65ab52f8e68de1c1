import type { MaskStageSettings } from '../../../../workers/api';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { DEFAULT_MASK_SETTINGS, useMasksStore } from '../../stores/masksStore';
import { ProgressBar } from '../ProgressBar';
import { ReasonedButton } from '../ReasonedButton';

/** Upstream's points_per_batch, offered when "auto" is unticked. */
const DEFAULT_FIXED_BATCH = 64;

type NumericSetting = Exclude<keyof MaskStageSettings, 'pointsPerBatch'>;

interface Field {
  key: NumericSetting;
  label: string;
  step: number;
  testId: string;
}

const FIELDS: Field[] = [
  { key: 'pointsPerSide', label: 'points per side', step: 1, testId: 'mask-points' },
  { key: 'predIouThresh', label: 'predicted IoU ≥', step: 0.01, testId: 'mask-iou' },
  { key: 'stabilityScoreThresh', label: 'stability ≥', step: 0.01, testId: 'mask-stability' },
  { key: 'boxNmsThresh', label: 'box NMS IoU', step: 0.05, testId: 'mask-nms' },
];

/** Crops (each encoded on its own: layer i costs (2^i)² more encoder passes) and small-region clean-up. */
const CROP_FIELDS: Field[] = [
  { key: 'cropNLayers', label: 'crop layers', step: 1, testId: 'mask-crop-layers' },
  { key: 'cropOverlapRatio', label: 'crop overlap', step: 0.01, testId: 'mask-crop-overlap' },
  { key: 'cropNmsThresh', label: 'crop NMS IoU', step: 0.05, testId: 'mask-crop-nms' },
  { key: 'cropNPointsDownscaleFactor', label: 'points ÷ per layer', step: 1, testId: 'mask-crop-downscale' },
  { key: 'minMaskRegionArea', label: 'min region area (px)', step: 1, testId: 'mask-min-area' },
];

function NumberField({
  field,
  settings,
  disabled,
  onChange,
}: {
  field: Field;
  settings: MaskStageSettings;
  disabled: boolean;
  onChange: (s: MaskStageSettings) => void;
}) {
  return (
    <label>
      {field.label}{' '}
      <input
        type="number"
        data-testid={field.testId}
        step={field.step}
        min={0}
        style={{ width: 70 }}
        disabled={disabled}
        value={settings[field.key]}
        onChange={(e) => onChange({ ...settings, [field.key]: Number(e.target.value) })}
      />
    </label>
  );
}

/** Which datasets to mask, the generator settings, run / pause, and what is stored per dataset. */
export function MaskStagePanel() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const { selected, settings, running, progress, summary, stats, generator, toggle, setSettings, run, pause } =
    useMasksStore();
  const runBlocked = running
    ? 'The mask stage is running.'
    : selected.length === 0
      ? 'Tick the datasets to mask above.'
      : null;
  const statsOf = new Map(stats.map((s) => [s.datasetId, s]));
  return (
    <section className="panel" data-testid="mask-stage">
      <h2>
        Class-agnostic masks{' '}
        <small>stored per image; a rerun skips images already done with the same generator and settings</small>
      </h2>
      <ul className="datasets">
        {datasets.map((d) => {
          const s = statsOf.get(d.id);
          return (
            <li key={d.id} className="row" data-testid="mask-dataset" data-name={d.name}>
              <label>
                <input
                  type="checkbox"
                  data-testid="mask-dataset-check"
                  checked={selected.includes(d.id)}
                  disabled={running}
                  onChange={() => toggle(d.id)}
                />{' '}
                {d.name}
              </label>
              <span data-testid="mask-stats" data-processed={s?.processed ?? 0}>
                {s ? `${s.processed} / ${s.images} images masked` : `${d.imageCount} images`}
                {s && s.processed > 0
                  ? ` (SAM ${s.bySource.sam}, fallback ${s.bySource.fallback}, imported ${s.bySource.imported})`
                  : ''}
              </span>
            </li>
          );
        })}
      </ul>
      <div className="row">
        {FIELDS.map((f) => (
          <NumberField key={f.key} field={f} settings={settings} disabled={running} onChange={setSettings} />
        ))}
        <span title="Prompts per decoder batch; auto = as many as the GPU's buffer limits allow, at most 64">
          points per batch{' '}
          <label>
            <input
              type="checkbox"
              data-testid="mask-batch-auto"
              disabled={running}
              checked={settings.pointsPerBatch === 'auto'}
              onChange={(e) =>
                setSettings({ ...settings, pointsPerBatch: e.target.checked ? 'auto' : DEFAULT_FIXED_BATCH })
              }
            />{' '}
            auto
          </label>{' '}
          {settings.pointsPerBatch !== 'auto' && (
            <input
              type="number"
              data-testid="mask-batch"
              aria-label="points per batch"
              step={8}
              min={1}
              style={{ width: 70 }}
              disabled={running}
              value={settings.pointsPerBatch}
              onChange={(e) => setSettings({ ...settings, pointsPerBatch: Number(e.target.value) })}
            />
          )}
        </span>
      </div>
      <div className="row">
        {CROP_FIELDS.map((f) => (
          <NumberField key={f.key} field={f} settings={settings} disabled={running} onChange={setSettings} />
        ))}
        <ReasonedButton
          why={running ? 'The mask stage is running: pause it to change settings.' : null}
          onClick={() => setSettings(DEFAULT_MASK_SETTINGS)}
        >
          SAM defaults
        </ReasonedButton>
      </div>
      {generator?.kind !== 'sam' && (
        <p className="warning">
          No SAM weights loaded: the stage uses the Felzenszwalb fallback (the settings above apply to SAM only).
        </p>
      )}
      <div className="row">
        <ReasonedButton
          data-testid="mask-run"
          why={runBlocked}
          hint={!running}
          hintTestId="mask-run-why"
          onClick={() => void run()}
        >
          {summary?.paused ? 'Resume' : 'Run'} mask stage
        </ReasonedButton>
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
          label={`${progress?.generator === 'sam' ? `SAM (${progress.pointsPerBatch} points per batch)` : 'fallback'}${progress?.current ? ` · ${progress.current}` : ''}`}
        />
      )}
      {summary && (
        <p data-testid="mask-summary" data-computed={summary.computed} data-skipped={summary.skipped}>
          {summary.paused ? 'Paused' : 'Done'} ({summary.generator}): {summary.computed} images masked,{' '}
          {summary.skipped} already done.
        </p>
      )}
    </section>
  );
}

import { useEffect, useRef, useState } from 'react';
import type { PresetView, TrainingConfig, TrainingKind } from '../../../../workers/api';
import { formatBytes } from '../../format';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { useModelsStore } from '../../stores/modelsStore';
import { useTrainingStore } from '../../stores/trainingStore';
import { ReasonedButton } from '../ReasonedButton';
import { RunDearliControls } from './RunDearliControls';

/** Chooses what to train on and how long; shows the preset's size before anything starts. */
export function TrainForm({ disabled }: { disabled: boolean }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  // The backbone (and so the presets) changes when a CLIP loads, e.g. the demo CLIP at page start.
  const clipSha256 = useModelsStore((s) => s.clipCard?.sha256);
  const { backbone, presets, loadPresets, start, busy, run, alpha } = useTrainingStore();
  const [kind, setKind] = useState<TrainingKind>('supervised');
  const [preset, setPreset] = useState('');
  const [batchSize, setBatchSize] = useState(2);
  const [iterations, setIterations] = useState(200);
  const [cropSize, setCropSize] = useState(0);
  const [evalEvery, setEvalEvery] = useState(20);
  const [validationImages, setValidationImages] = useState(16);
  const [learningRate, setLearningRate] = useState(1e-4);
  const labeled = datasets.filter((d) => d.role === 'labeled');
  const validation = datasets.filter((d) => d.role === 'validation');
  const [trainIds, setTrainIds] = useState<string[]>([]);
  const [validationId, setValidationId] = useState<string>('');
  const unlabeled = datasets.filter((d) => d.role === 'unlabeled');
  const [unlabeledIds, setUnlabeledIds] = useState<string[]>([]);
  const [testTimeEnsemble, setTestTimeEnsemble] = useState(true);
  // Adaptive α (beyond the paper): off by default; K is the sweep period in iterations.
  const [adaptiveAlpha, setAdaptiveAlpha] = useState(false);
  const [adaptiveEvery, setAdaptiveEvery] = useState(50);

  // Fields the user typed into, or that show a run's settings: a proposal must not overwrite them (a
  // user who filled Iterations before the presets loaded keeps their value).
  const edited = useRef(new Set<'cropSize' | 'learningRate' | 'iterations'>());
  // The form shows the settings of the latest run (after a reload too) until the user edits them.
  const runId = run?.id;
  useEffect(() => {
    const c = useTrainingStore.getState().run?.config;
    if (!c) return;
    for (const field of ['cropSize', 'learningRate', 'iterations'] as const) edited.current.add(field);
    setKind(c.kind);
    setPreset(c.preset);
    setCropSize(c.cropSize);
    setBatchSize(c.batchSize);
    setIterations(c.iterations);
    setEvalEvery(c.evalEvery);
    setValidationImages(c.validationImages);
    setLearningRate(c.learningRate);
    setTrainIds(c.trainDatasetIds);
    setValidationId(c.validationDatasetId ?? '');
    if (c.unlabeledDatasetIds) setUnlabeledIds(c.unlabeledDatasetIds);
    setTestTimeEnsemble(c.testTimeEnsembleAlpha !== null);
    setAdaptiveAlpha(Boolean(c.adaptiveAlpha));
    if (c.adaptiveAlpha) setAdaptiveEvery(c.adaptiveAlpha.every);
  }, [runId]);
  /** A preset's proposed settings (under which validation PQ rises), which the user may then edit. */
  const applyProposal = (p: PresetView, keepEdited: boolean) => {
    const keep = (field: 'cropSize' | 'learningRate' | 'iterations') => keepEdited && edited.current.has(field);
    if (!keep('cropSize')) setCropSize(p.proposed.cropSize);
    if (!keep('learningRate')) setLearningRate(p.proposed.learningRate);
    if (!keep('iterations')) setIterations(p.proposed.iterations);
  };
  // The proposals depend on the training images' size: they are asked again when the datasets change.
  const trainKey = trainIds.join(',');
  useEffect(() => {
    void loadPresets(batchSize, trainKey ? trainKey.split(',') : []);
  }, [loadPresets, batchSize, trainKey, clipSha256]);
  useEffect(() => {
    // A preset the backbone no longer offers (another CLIP loaded) gives way to the first one.
    if (presets[0] && !presets.some((p) => p.name === preset)) setPreset(presets[0].name);
  }, [presets, preset]);
  const chosen = presets.find((p) => p.name === preset);
  const proposal = chosen ? JSON.stringify(chosen.proposed) : '';
  useEffect(() => {
    if (chosen) applyProposal(chosen, true);
  }, [proposal]);
  useEffect(() => {
    const pool = kind === 'dewa' ? datasets : labeled;
    if (trainIds.length === 0 && pool[0]) setTrainIds([pool[0].id]);
    if (!validationId && validation[0]) setValidationId(validation[0].id);
    if (unlabeledIds.length === 0 && unlabeled[0]) setUnlabeledIds([unlabeled[0].id]);
  }, [kind, labeled, datasets, validation, unlabeled, trainIds.length, validationId, unlabeledIds.length]);

  // Why Start is greyed, said beside it (and as its title).
  const startBlocked = disabled
    ? 'A run is training: pause it first.'
    : busy
      ? 'Working…'
      : !preset
        ? 'Waiting for the presets (they need the backbone).'
        : trainIds.length === 0
          ? kind === 'dewa'
            ? 'Tick the datasets whose class-agnostic masks DeWa trains on.'
            : 'Tick a labeled dataset to train on (import one on the Data tab).'
          : null;
  const pool = kind === 'dewa' ? datasets : labeled;
  const common = { preset, cropSize, iterations, batchSize, evalEvery, validationImages, learningRate, seed: 1 };
  const tte = testTimeEnsemble ? undefined : null;
  const adaptive = adaptiveAlpha ? { every: adaptiveEvery } : null;
  const config: TrainingConfig = {
    ...common,
    kind,
    trainDatasetIds: trainIds,
    validationDatasetId: validationId || null,
    ...(kind === 'meanTeacher'
      ? { unlabeledDatasetIds: unlabeledIds, alpha, adaptiveAlpha: adaptive, dewaRunId: null }
      : {}),
    testTimeEnsembleAlpha: tte,
  };

  return (
    <form
      className="train-form"
      onSubmit={(e) => {
        e.preventDefault();
        void start(config);
      }}
    >
      <p className="muted" data-testid="train-backbone">
        Backbone: {backbone ?? '…'}
      </p>
      <div className="row">
        <label>
          Stage{' '}
          <select
            data-testid="train-kind"
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as TrainingKind);
              setTrainIds([]);
            }}
            disabled={disabled}
          >
            <option value="supervised">supervised (labeled images)</option>
            <option value="dewa">DeWa warm-up (class-agnostic masks)</option>
            <option value="meanTeacher">Mean Teacher (labeled + unlabeled, CLIP-ensembled pseudo-labels)</option>
          </select>
        </label>
        <label>
          Train on{' '}
          <select
            data-testid="train-dataset"
            multiple={kind === 'dewa'}
            value={kind === 'dewa' ? trainIds : (trainIds[0] ?? '')}
            onChange={(e) => setTrainIds(Array.from(e.target.selectedOptions, (o) => o.value))}
            disabled={disabled}
          >
            {pool.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.imageCount})
              </option>
            ))}
          </select>
        </label>
        {kind === 'meanTeacher' && (
          <label>
            Unlabeled{' '}
            <select
              data-testid="train-unlabeled"
              multiple
              value={unlabeledIds}
              onChange={(e) => setUnlabeledIds(Array.from(e.target.selectedOptions, (o) => o.value))}
              disabled={disabled}
            >
              {[...unlabeled, ...labeled].map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.imageCount})
                </option>
              ))}
            </select>
          </label>
        )}
        {kind === 'meanTeacher' && (
          <>
            <label title="Beyond the paper: re-sweep α over the validation images every K iterations and use its best">
              <input
                data-testid="train-adaptive-alpha"
                type="checkbox"
                checked={adaptiveAlpha}
                onChange={(e) => setAdaptiveAlpha(e.target.checked)}
                disabled={disabled}
              />{' '}
              adaptive α
            </label>
            <label>
              every K{' '}
              <input
                data-testid="train-adaptive-every"
                type="number"
                min={1}
                step={1}
                value={adaptiveEvery}
                onChange={(e) => setAdaptiveEvery(Math.max(1, Math.round(Number(e.target.value))))}
                disabled={disabled || !adaptiveAlpha}
                style={{ width: 70 }}
              />{' '}
              iterations
            </label>
          </>
        )}
        <label title={kind === 'dewa' ? 'DeWa is scored by class-agnostic mask recall (AR) on its labels' : undefined}>
          Validate on{' '}
          <select
            data-testid="train-validation"
            value={validationId}
            onChange={(e) => setValidationId(e.target.value)}
            disabled={disabled}
          >
            <option value="">none</option>
            {validation.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.imageCount})
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="row">
        <label>
          Preset{' '}
          <select
            data-testid="train-preset"
            value={preset}
            onChange={(e) => {
              setPreset(e.target.value);
              const next = presets.find((p) => p.name === e.target.value);
              if (next) applyProposal(next, false);
            }}
            disabled={disabled}
          >
            {presets.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {chosen && (
          <span className="muted" data-testid="train-preset-size">
            {(chosen.parameterCount / 1e6).toFixed(2)} M parameters · ~{formatBytes(chosen.estimatedMemoryBytes)} GPU
            memory at batch {batchSize}
          </span>
        )}
      </div>
      <div className="row">
        <label>
          Crop{' '}
          <input
            type="number"
            min={32}
            step={32}
            value={cropSize}
            onChange={(e) => {
              edited.current.add('cropSize');
              setCropSize(Number(e.target.value));
            }}
            disabled={disabled}
            style={{ width: 70 }}
          />
        </label>
        <label>
          Batch{' '}
          <input
            data-testid="train-batch"
            type="number"
            min={1}
            max={16}
            value={batchSize}
            onChange={(e) => setBatchSize(Number(e.target.value))}
            disabled={disabled}
            style={{ width: 50 }}
          />
        </label>
        <label>
          Iterations{' '}
          <input
            data-testid="train-iterations"
            type="number"
            min={1}
            value={iterations}
            onChange={(e) => {
              edited.current.add('iterations');
              setIterations(Number(e.target.value));
            }}
            disabled={disabled}
            style={{ width: 80 }}
          />
        </label>
        <label>
          Validate every{' '}
          <input
            data-testid="train-eval-every"
            type="number"
            min={0}
            value={evalEvery}
            onChange={(e) => setEvalEvery(Number(e.target.value))}
            disabled={disabled}
            style={{ width: 60 }}
          />
        </label>
        <label>
          on{' '}
          <input
            data-testid="train-eval-images"
            type="number"
            min={1}
            value={validationImages}
            onChange={(e) => setValidationImages(Number(e.target.value))}
            disabled={disabled}
            style={{ width: 50 }}
          />{' '}
          images
        </label>
        <label>
          Learning rate{' '}
          <input
            type="number"
            step="any"
            value={learningRate}
            onChange={(e) => {
              edited.current.add('learningRate');
              setLearningRate(Number(e.target.value));
            }}
            disabled={disabled}
            style={{ width: 90 }}
          />
        </label>
        {kind !== 'dewa' && (
          <label>
            <input
              type="checkbox"
              data-testid="train-tte"
              checked={testTimeEnsemble}
              onChange={(e) => setTestTimeEnsemble(e.target.checked)}
              disabled={disabled}
            />{' '}
            test-time ensembling
          </label>
        )}
        <ReasonedButton type="submit" data-testid="train-start" why={startBlocked} hint hintTestId="train-start-why">
          Start
        </ReasonedButton>
        <RunDearliControls
          proposal={chosen?.proposed}
          settings={common}
          labeledIds={trainIds.filter((id) => labeled.some((d) => d.id === id))}
          datasetIds={[...labeled, ...unlabeled].map((d) => d.id)}
          unlabeledIds={unlabeledIds}
          validationId={validationId}
          meanTeacher={{ alpha, adaptiveAlpha: adaptive, testTimeEnsembleAlpha: tte }}
          why={
            startBlocked ??
            (unlabeledIds.length === 0
              ? 'Run DEARLi needs unlabeled images: import a folder of them (Data tab).'
              : null)
          }
        />
      </div>
    </form>
  );
}

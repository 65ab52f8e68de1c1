import { useEffect, useRef, useState } from 'react';
import { DEFAULT_MASK_SETTINGS, type PresetView, type TrainingConfig } from '../../../../workers/api';
import { ReasonedButton } from '../ReasonedButton';
import { useTrainingStore } from '../../stores/trainingStore';

type Settings = Pick<
  TrainingConfig,
  'preset' | 'cropSize' | 'iterations' | 'batchSize' | 'evalEvery' | 'validationImages' | 'learningRate' | 'seed'
>;

/**
 * "Run DEARLi": CLIP features and class-agnostic masks on the labeled and unlabeled images, DeWa on
 * them for its own iteration count, then Mean Teacher from DeWa's weights with the form's settings.
 * The preset proposes DeWa's length and Mean Teacher's EMA decay (src/pipeline/presetDefaults.ts).
 */
export function RunDearliControls({
  proposal,
  settings,
  labeledIds,
  datasetIds,
  unlabeledIds,
  validationId,
  meanTeacher,
  why,
}: {
  proposal: PresetView['proposed'] | undefined;
  settings: Settings;
  /** Ticked labeled datasets (Mean Teacher's labeled half). */
  labeledIds: string[];
  /** Every labeled and unlabeled dataset: features, masks and DeWa run on them. */
  datasetIds: string[];
  unlabeledIds: string[];
  validationId: string;
  meanTeacher: Pick<TrainingConfig, 'alpha' | 'adaptiveAlpha' | 'testTimeEnsembleAlpha'>;
  /** Why Run DEARLi is greyed (the Start button's reason, or no unlabeled data); null when it can run. */
  why: string | null;
}) {
  const runDearli = useTrainingStore((s) => s.runDearli);
  const [dewaIterations, setDewaIterations] = useState(0);
  // A value the user typed is kept when the proposal arrives later (the backbone loads first).
  const edited = useRef(false);
  useEffect(() => {
    if (proposal && !edited.current) setDewaIterations(proposal.dearli.dewaIterations);
  }, [proposal]);
  const emaDecay = proposal?.dearli.emaDecay;

  const start = () =>
    void runDearli({
      datasetIds,
      maskSettings: DEFAULT_MASK_SETTINGS,
      dewa: { ...settings, iterations: dewaIterations },
      meanTeacher: {
        ...settings,
        ...meanTeacher,
        trainDatasetIds: labeledIds,
        unlabeledDatasetIds: unlabeledIds,
        validationDatasetId: validationId || null,
        emaDecay,
      },
    });

  return (
    <>
      <label title="Run DEARLi trains DeWa this long before Mean Teacher, which runs 'Iterations'">
        DeWa iterations{' '}
        <input
          data-testid="dearli-dewa-iterations"
          type="number"
          min={1}
          value={dewaIterations}
          onChange={(e) => {
            edited.current = true;
            setDewaIterations(Number(e.target.value));
          }}
          disabled={why !== null}
          style={{ width: 80 }}
        />
      </label>
      <ReasonedButton
        data-testid="dearli-run"
        data-ema-decay={emaDecay}
        title={`CLIP features → class-agnostic masks → DeWa → Mean Teacher (EMA γ ${emaDecay ?? '…'} from DeWa's weights), with these settings for each training stage`}
        why={why ?? (dewaIterations < 1 ? 'Set DeWa iterations to at least 1.' : null)}
        onClick={start}
      >
        Run DEARLi
      </ReasonedButton>
    </>
  );
}

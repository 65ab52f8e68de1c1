/** The test-time ensemble as the Use view applies it: on at α, or off (the model alone). */
export interface EnsembleSetting {
  on: boolean;
  alpha: number;
}

export const ensembleAlphaOf = (s: EnsembleSetting): number | null => (s.on ? s.alpha : null);

const describe = (alpha: number | null) => (alpha === null ? 'the model alone' : `α ${alpha.toFixed(2)}`);

/**
 * The test-time ensemble of the Use view: P_ENS ∝ P_MT^α · P_CLIP^(1−α) on the model's masks, or the
 * model alone. Moving α re-segments the images shown with the model already open.
 */
export function EnsembleAlpha({
  setting,
  onChange,
  shown,
}: {
  setting: EnsembleSetting;
  onChange: (s: EnsembleSetting) => void;
  /** The α of the segmentation on screen (it lags while a new one runs); undefined before any. */
  shown: number | null | undefined;
}) {
  return (
    <div className="row" data-testid="use-ensemble">
      <label>
        <input
          type="checkbox"
          checked={setting.on}
          onChange={(e) => onChange({ ...setting, on: e.target.checked })}
          data-testid="use-ensemble-on"
        />{' '}
        test-time ensemble with CLIP
      </label>
      <label>
        α (weight of the model; 1 − α on CLIP){' '}
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={setting.alpha}
          disabled={!setting.on}
          onChange={(e) => onChange({ ...setting, alpha: Number(e.target.value) })}
          data-testid="use-alpha"
        />{' '}
        {setting.alpha.toFixed(2)}
      </label>
      {shown !== undefined && (
        <span className="muted" data-testid="use-alpha-shown" data-alpha={shown === null ? 'off' : String(shown)}>
          shown: {describe(shown)}
        </span>
      )}
    </div>
  );
}

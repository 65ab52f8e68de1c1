import { useState } from 'react';
import { useMasksStore } from '../../stores/masksStore';
import { useModelsStore } from '../../stores/modelsStore';
import { DownloadProgress } from '../models/DownloadProgress';
import { ModelCardView } from '../models/ModelCardView';
import { ConfigSourceFields, FileSourceFields } from '../models/SourceFields';
import {
  configSourceDraft,
  fileSourceDraft,
  toConfigSource,
  toFileSource,
  type ConfigSourceDraft,
  type FileSourceDraft,
} from '../models/sourceDraft';
import { MODEL_LOADING, ReasonedButton } from '../ReasonedButton';

/** SlimSAM (pruned ViT-B, 38.9 MB) by default; facebook/sam-vit-base is the quality option. */
const DEFAULT_SAM_REPO = 'Zigeng/SlimSAM-uniform-77';
const SAM_REPOS = [
  DEFAULT_SAM_REPO,
  'facebook/sam-vit-base',
  'facebook/sam-vit-large',
  'facebook/sam-vit-huge',
] as const;
const SAM_PRESETS = ['slimsam-77', 'sam-vit-b', 'sam-vit-l', 'sam-vit-h'] as const;

export function SamLoader() {
  const { generator, loading, download, loadSam, unloadSam, showMessage } = useMasksStore();
  const cancelLoad = useModelsStore((s) => s.cancelLoad);
  const refreshModels = useModelsStore((s) => s.refresh);
  const [weights, setWeights] = useState<FileSourceDraft>(() => fileSourceDraft(DEFAULT_SAM_REPO));
  const [config, setConfig] = useState<ConfigSourceDraft>(() => configSourceDraft(SAM_PRESETS[0]));

  const submit = async () => {
    const w = toFileSource(weights, 'SAM weights');
    const c = toConfigSource(config);
    if (typeof w === 'string' || typeof c === 'string')
      return showMessage({ code: 'form', problem: typeof w === 'string' ? w : (c as string), fix: '' });
    // The hub repo holds several files: SAM weights are its model.safetensors.
    await loadSam({ weights: w.kind === 'hub' ? { ...w, file: 'model.safetensors' } : w, config: c });
    await refreshModels();
  };

  return (
    <section className="panel" data-testid="sam-panel">
      <h2>
        Mask generator{' '}
        {generator?.kind === 'sam' ? (
          <span className="badge badge-ok" data-testid="mask-generator" data-kind="sam">
            SAM: {generator.card.name}
          </span>
        ) : (
          <span className="badge badge-warn" data-testid="mask-generator" data-kind="fallback">
            {generator?.description ?? 'fallback'}
          </span>
        )}
      </h2>
      <FileSourceFields
        draft={weights}
        onChange={(d) => d && setWeights(d)}
        testId="sam-source"
        label="SAM weights from"
        suggestedRepos={SAM_REPOS}
      />
      <ConfigSourceFields
        draft={config}
        onChange={setConfig}
        presets={SAM_PRESETS}
        nextToWeightsLabel="config.json next to the weights"
        testId="sam-config"
      />
      <div className="row">
        <ReasonedButton data-testid="sam-load" why={loading ? MODEL_LOADING : null} onClick={() => void submit()}>
          Load SAM
        </ReasonedButton>
        {generator?.kind === 'sam' && (
          <ReasonedButton
            data-testid="sam-unload"
            why={loading ? MODEL_LOADING : null}
            onClick={() => void unloadSam()}
          >
            Use the fallback instead
          </ReasonedButton>
        )}
      </div>
      {loading && <DownloadProgress progress={download} onCancel={() => void cancelLoad('sam')} />}
      {generator?.kind === 'sam' && <ModelCardView card={generator.card} testId="sam-card" />}
    </section>
  );
}

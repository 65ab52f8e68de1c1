import { useState } from 'react';
import { DEMO_CLIP_NAME } from '../../../../workers/api';
import { useModelsStore } from '../../stores/modelsStore';
import { DownloadProgress } from './DownloadProgress';
import { ModelCardView } from './ModelCardView';
import { ConfigSourceFields, FileSourceFields } from './SourceFields';
import {
  configSourceDraft,
  fileSourceDraft,
  toConfigSource,
  toFileSource,
  type ConfigSourceDraft,
  type FileSourceDraft,
} from './sourceDraft';
import { MODEL_LOADING, ReasonedButton } from '../ReasonedButton';

/** The paper's backbone and a CLIP repo that publishes the tokenizer files. */
const DEFAULT_CLIP_REPO = 'laion/CLIP-convnext_base_w_320-laion_aesthetic-s13B-b82K-augreg';
const DEFAULT_TOKENIZER_REPO = 'laion/CLIP-ViT-B-32-laion2B-s34B-b79K';
const CLIP_PRESETS = ['convnext_base_w_320', 'convnext_base_w', 'convnext_large_d_320'] as const;

export function ClipLoader() {
  const { clipCard, loading, download, loadClip, loadDemoClip, cancelLoad, unloadClip, showMessage } = useModelsStore();
  const [weights, setWeights] = useState<FileSourceDraft>(() => fileSourceDraft(DEFAULT_CLIP_REPO));
  const [config, setConfig] = useState<ConfigSourceDraft>(() => configSourceDraft(CLIP_PRESETS[0]));
  const [tokenizer, setTokenizer] = useState<FileSourceDraft | null>(() => fileSourceDraft(DEFAULT_TOKENIZER_REPO));
  const [tokenizerKept, setTokenizerKept] = useState<FileSourceDraft>(() => fileSourceDraft(DEFAULT_TOKENIZER_REPO));

  const submit = () => {
    const w = toFileSource(weights, 'CLIP weights');
    const c = toConfigSource(config);
    const t = tokenizer ? toFileSource(tokenizer, 'tokenizer vocabulary') : null;
    const missing = [w, c, t].find((x): x is string => typeof x === 'string');
    if (missing) return showMessage({ code: 'form', problem: missing, fix: '' });
    void loadClip({
      weights: w as Exclude<typeof w, string>,
      config: c as Exclude<typeof c, string>,
      tokenizer: t as Exclude<typeof t, string>,
    });
  };

  return (
    <section className="panel" data-testid="clip-panel">
      <h2>
        CLIP <small>OpenCLIP ConvNeXt image and text towers</small>
      </h2>
      <FileSourceFields
        draft={weights}
        onChange={(d) => d && setWeights(d)}
        testId="clip-source"
        label="Weights from"
        suggestedRepos={[
          DEFAULT_CLIP_REPO,
          'laion/CLIP-convnext_base_w-laion2B-s13B-b82K-augreg',
          'laion/CLIP-convnext_large_d_320.laion2B-s29B-b131K-ft-soup',
        ]}
      />
      <ConfigSourceFields
        draft={config}
        onChange={setConfig}
        presets={CLIP_PRESETS}
        nextToWeightsLabel="open_clip_config.json next to the weights"
        testId="clip-config"
      />
      <FileSourceFields
        draft={tokenizer}
        onChange={(d) => {
          setTokenizer(d);
          if (d) setTokenizerKept(d);
        }}
        testId="clip-tokenizer"
        label="Tokenizer vocabulary from"
        allowNone={{ keep: tokenizerKept }}
        suggestedRepos={[DEFAULT_TOKENIZER_REPO]}
      />
      <div className="row">
        <ReasonedButton data-testid="clip-load" why={loading ? MODEL_LOADING : null} onClick={submit}>
          Load CLIP
        </ReasonedButton>
        {clipCard?.name !== DEMO_CLIP_NAME && (
          <ReasonedButton
            data-testid="clip-load-demo"
            why={loading ? MODEL_LOADING : null}
            title="The tiny CLIP shipped with the lab (public/demo-clip/), offline"
            onClick={() => void loadDemoClip()}
          >
            Load the demo CLIP
          </ReasonedButton>
        )}
        {clipCard && (
          <ReasonedButton
            data-testid="clip-unload"
            why={loading ? MODEL_LOADING : null}
            onClick={() => void unloadClip()}
          >
            Unload
          </ReasonedButton>
        )}
      </div>
      {loading && <DownloadProgress progress={download} onCancel={() => void cancelLoad('clip')} />}
      {clipCard?.name === DEMO_CLIP_NAME && (
        <p className="warning" data-testid="clip-demo-note">
          The {DEMO_CLIP_NAME} is not a real CLIP: it knows only the demo world's 13 classes by their colours and
          textures. Load real CLIP weights above for your own data.
        </p>
      )}
      {clipCard ? (
        <ModelCardView card={clipCard} />
      ) : (
        <p className="warning" data-testid="clip-none">
          No CLIP model loaded.
        </p>
      )}
    </section>
  );
}

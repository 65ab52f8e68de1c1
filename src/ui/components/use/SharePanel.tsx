import { useEffect, useState } from 'react';
import type { ClassMatch, UserMessage } from '../../../../workers/api';
import { attemptWithMessage } from '../../messages';
import { pipeline } from '../../pipeline';
import { saveBlob } from './download';
import { ReasonedButton } from '../ReasonedButton';

const labUrl = () => window.location.href.replace(/#.*$/, '');

/**
 * Sharing a run's model: the bundle as a zip, a push to a Hugging Face Hub repository, and a share
 * link for a model.json hosted anywhere. The access token lives in this component's state only.
 */
export function SharePanel({ runId, onMessage }: { runId: string; onMessage: (m: UserMessage) => void }) {
  const [cardSha256, setCardSha256] = useState<string | null>(null);
  const [repo, setRepo] = useState('');
  const [token, setToken] = useState('');
  const [hostedUrl, setHostedUrl] = useState('');
  const [link, setLink] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const act = async <T,>(what: string, fn: () => Promise<T>): Promise<T | null> => {
    setBusy(what);
    try {
      return await attemptWithMessage(fn, onMessage);
    } finally {
      setBusy(null);
    }
  };

  const exportBundle = async () => {
    const bundle = await act('exporting', () => pipeline().exportModelBundle(runId));
    if (!bundle) return;
    setCardSha256(bundle.cardSha256);
    saveBlob(bundle.zip, 'dearli-model.zip');
  };

  const push = async () => {
    const shared = await act('pushing', () =>
      pipeline().pushToHub(runId, { repo, accessToken: token, labUrl: labUrl() }),
    );
    if (shared) setLink(shared.link);
  };

  const copyLink = async () => {
    const sha = cardSha256 ?? (await act('exporting', () => pipeline().exportModelBundle(runId)))?.cardSha256;
    if (!sha) return;
    setCardSha256(sha);
    const made = await act('making the link', () => pipeline().shareLink(labUrl(), hostedUrl, sha));
    if (!made) return;
    setLink(made);
    await navigator.clipboard?.writeText(made).catch(() => {});
  };

  return (
    <section className="card" data-testid="use-share">
      <h3>Share this run's model</h3>
      <div className="row">
        <ReasonedButton
          data-testid="use-export-bundle"
          why={busy ? `${busy}…` : null}
          onClick={() => void exportBundle()}
        >
          Export bundle
        </ReasonedButton>
        <span className="muted">model.safetensors, model.json and README.md in one zip</span>
      </div>
      <div className="row">
        <input
          placeholder="user/model-name"
          value={repo}
          onChange={(e) => setRepo(e.target.value)}
          data-testid="use-hub-repo"
        />
        <input
          type="password"
          placeholder="hub access token (write)"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoComplete="off"
          data-testid="use-hub-token"
        />
        <ReasonedButton
          why={
            busy
              ? `${busy}…`
              : !repo
                ? 'Type the repository (user/name) first.'
                : !token
                  ? 'Paste a hub access token with write permission first.'
                  : null
          }
          onClick={() => void push()}
          data-testid="use-push"
        >
          Push to hub
        </ReasonedButton>
      </div>
      <div className="row">
        <input
          placeholder="https://…/model.json (hosted with CORS)"
          value={hostedUrl}
          onChange={(e) => setHostedUrl(e.target.value)}
          data-testid="use-hosted-url"
        />
        <ReasonedButton
          why={busy ? `${busy}…` : !hostedUrl ? 'Type the URL of a hosted model.json first.' : null}
          onClick={() => void copyLink()}
          data-testid="use-copy-link"
        >
          Copy link
        </ReasonedButton>
      </div>
      {busy && <p className="muted">{busy}…</p>}
      {link && (
        <p>
          Share link: <code data-testid="use-link">{link}</code>
        </p>
      )}
    </section>
  );
}

/** Predictions of the model in use on a stored dataset, as a COCO panoptic zip for panopticapi / npm run eval. */
export function PredictionsExport({
  datasets,
  ensembleAlpha,
  onMessage,
}: {
  datasets: { id: string; name: string }[];
  /** The Use view's test-time ensemble: the predictions are the ones it shows. */
  ensembleAlpha: number | null;
  onMessage: (m: UserMessage) => void;
}) {
  const [datasetId, setDatasetId] = useState('');
  const [busy, setBusy] = useState(false);
  const [match, setMatch] = useState<ClassMatch | null>(null);
  const [byName, setByName] = useState(true);
  const chosen = datasetId || datasets[0]?.id;
  useEffect(() => {
    setMatch(null);
    if (chosen) void attemptWithMessage(() => pipeline().predictionClasses(chosen), onMessage).then(setMatch);
  }, [chosen, onMessage]);
  const mapByName = !!match && !match.same && byName;
  const run = async () => {
    setBusy(true);
    const zip = await attemptWithMessage(
      () => pipeline().exportPredictions(chosen, ensembleAlpha, mapByName),
      onMessage,
    );
    setBusy(false);
    if (zip) saveBlob(zip, 'panoptic_pred.zip');
  };
  if (datasets.length === 0) return null;
  return (
    <>
      <div className="row">
        <select value={chosen} onChange={(e) => setDatasetId(e.target.value)} data-testid="use-predictions-dataset">
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
        <ReasonedButton
          why={busy ? 'Predicting…' : !match ? "Comparing the model's classes with the dataset's…" : null}
          onClick={() => void run()}
          data-testid="use-export-predictions"
        >
          {busy ? 'Predicting…' : 'Export predictions'}
        </ReasonedButton>
      </div>
      {match && !match.same && (
        <div className="card warning" data-testid="use-class-mismatch">
          <p>
            The model's classes are not this dataset's categories (ids or names differ), so its predictions would not
            evaluate against the dataset's annotations as they are.
          </p>
          <label>
            <input
              type="checkbox"
              checked={byName}
              onChange={(e) => setByName(e.target.checked)}
              data-testid="use-by-name"
            />{' '}
            evaluate by class name: export in the dataset's categories, matched by name or synonym
          </label>
          <ul className="muted">
            {match.byName.map((p) => (
              <li key={p.modelId}>
                {p.model} → {p.dataset}
              </li>
            ))}
            {match.unmatchedModel.length > 0 && (
              <li data-testid="use-unmatched-model">
                model classes with no category of that name (their segments are left out):{' '}
                {match.unmatchedModel.join(', ')}
              </li>
            )}
            {match.unmatchedDataset.length > 0 && (
              <li data-testid="use-unmatched-dataset">
                categories the model has no class for: {match.unmatchedDataset.join(', ')}
              </li>
            )}
          </ul>
        </div>
      )}
    </>
  );
}

import { formatBytes } from '../../format';
import { useMasksStore } from '../../stores/masksStore';
import { useModelsStore } from '../../stores/modelsStore';
import { formatParameters } from './ModelCardView';
import { MODEL_LOADING, ReasonedButton } from '../ReasonedButton';

/** Models loaded before (they load again from the browser cache, offline) and every cached file. */
export function SavedModels() {
  const { saved, cachedFiles, loading, loadSaved, freeSaved, freeFile } = useModelsStore();
  const refreshMasks = useMasksStore((s) => s.refresh);
  const maskStats = useMasksStore((s) => s.stats);

  const load = async (id: string) => {
    const card = await loadSaved(id);
    if (card?.kind === 'sam') await refreshMasks(maskStats.map((s) => s.datasetId));
  };

  return (
    <section className="panel" data-testid="saved-models">
      <h2>
        Cached models <small>kept in this browser; they load without network</small>
      </h2>
      {saved.length === 0 ? (
        <p data-testid="no-saved-models">No cached models.</p>
      ) : (
        <table className="data">
          <thead>
            <tr>
              <th>model</th>
              <th>kind</th>
              <th>parameters</th>
              <th>size</th>
              <th>sha256</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {saved.map((m) => (
              <tr key={m.id} data-testid="saved-model" data-name={m.card.name} data-kind={m.card.kind}>
                <td>
                  {m.card.name} <small>{m.card.fileName}</small>
                  {!m.available && <span className="badge badge-warn">files missing</span>}
                </td>
                <td>{m.card.kind.toUpperCase()}</td>
                <td>{formatParameters(m.card.parameters)}</td>
                <td>{formatBytes(m.card.bytes)}</td>
                <td>
                  <code>{m.card.sha256.slice(0, 12)}</code>
                </td>
                <td className="actions">
                  <ReasonedButton
                    data-testid="saved-load"
                    why={
                      loading
                        ? MODEL_LOADING
                        : !m.available
                          ? 'Its files are no longer cached: load it again from its source above.'
                          : null
                    }
                    onClick={() => void load(m.id)}
                  >
                    Load
                  </ReasonedButton>
                  <ReasonedButton
                    data-testid="saved-free"
                    why={loading ? MODEL_LOADING : null}
                    onClick={() => void freeSaved(m.id)}
                  >
                    Free
                  </ReasonedButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details>
        <summary data-testid="cached-files-summary">
          {cachedFiles.length} cached file{cachedFiles.length === 1 ? '' : 's'},{' '}
          {formatBytes(cachedFiles.reduce((n, f) => n + f.size, 0))}
        </summary>
        <table className="data">
          <tbody>
            {cachedFiles.map((f) => (
              <tr key={f.key} data-testid="cached-file" data-key={f.key}>
                <td>{f.name}</td>
                <td>{formatBytes(f.size)}</td>
                <td>
                  <small>{f.sourceUrl}</small>
                </td>
                <td>
                  <button type="button" data-testid="cached-file-free" onClick={() => void freeFile(f.key)}>
                    Free
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}

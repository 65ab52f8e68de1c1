import { useEffect } from 'react';
import { formatBytes } from '../format';
import { useDatasetsStore } from '../stores/datasetsStore';
import { useStorageStore, watchStorage } from '../stores/storageStore';

const LAZY_NOTE =
  "The browser's own estimate. Browsers free deleted data lazily: after a delete, usage may drop only minutes later or after a restart.";

export function StoragePanel() {
  const { persisted, askPersistence } = useDatasetsStore();
  const { usage, quota } = useStorageStore();
  useEffect(watchStorage, []);
  if (usage === null || quota === null) return null;
  return (
    <div className="storage" data-testid="storage" data-usage={usage}>
      <span title={LAZY_NOTE} aria-describedby="storage-note">
        Storage: {formatBytes(usage)} used, {formatBytes(Math.max(0, quota - usage))} free
      </span>
      <span id="storage-note" className="visually-hidden">
        {LAZY_NOTE}
      </span>
      {persisted ? (
        <span className="badge badge-ok">persistent</span>
      ) : (
        <button
          type="button"
          onClick={() => void askPersistence()}
          title="Ask the browser not to evict the lab's data under storage pressure"
        >
          Keep data persistent
        </button>
      )}
    </div>
  );
}

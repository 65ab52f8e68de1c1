import { useDatasetsStore } from '../stores/datasetsStore';
import { formatBytes } from '../format';

export function StoragePanel() {
  const { storage, persisted, askPersistence } = useDatasetsStore();
  if (!storage) return null;
  return (
    <div className="storage" data-testid="storage">
      <span>
        Storage: {formatBytes(storage.usage)} used, {formatBytes(Math.max(0, storage.quota - storage.usage))} free
      </span>
      {persisted ? (
        <span className="badge badge-ok">persistent</span>
      ) : (
        <button type="button" onClick={() => void askPersistence()} title="Ask the browser not to evict the lab's data under storage pressure">
          Keep data persistent
        </button>
      )}
    </div>
  );
}

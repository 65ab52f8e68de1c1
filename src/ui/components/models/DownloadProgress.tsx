import type { ModelDownloadProgress } from '../../../../workers/api';
import { formatBytes, formatDuration } from '../../format';

/** Bytes of the file being fetched, speed and time left; a cancel button while it runs. */
export function DownloadProgress({
  progress,
  onCancel,
}: {
  progress: ModelDownloadProgress | null;
  onCancel: () => void;
}) {
  const total = progress?.totalBytes ?? null;
  const pct = progress && total ? Math.min(100, (100 * progress.receivedBytes) / total) : 0;
  return (
    <div className="row" data-testid="model-download">
      <div
        className="progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={total ?? undefined}
        aria-valuenow={progress?.receivedBytes ?? 0}
      >
        <div className="progress-bar" style={{ width: `${pct}%` }} />
        <span className="progress-text" data-testid="model-download-text">
          {progress
            ? `${progress.stage}: ${progress.fileName} · ${formatBytes(progress.receivedBytes)}${total !== null ? ` / ${formatBytes(total)}` : ''}`
            : 'starting…'}
          {progress && progress.megabytesPerSecond > 0 ? ` · ${progress.megabytesPerSecond.toFixed(1)} MB/s` : ''}
          {progress?.etaSeconds ? ` · ETA ${formatDuration(progress.etaSeconds)}` : ''}
        </span>
      </div>
      <button type="button" data-testid="model-cancel" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

import { formatDuration } from '../format';

export interface ProgressView {
  done: number;
  total: number;
  rate?: number;
  rateUnit?: string;
  etaSeconds?: number;
  label?: string;
}

export function ProgressBar({ done, total, rate, rateUnit = 'files/s', etaSeconds, label }: ProgressView) {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return (
    <div
      className="progress"
      data-testid="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
    >
      <div className="progress-bar" style={{ width: `${pct}%` }} />
      <span className="progress-text">
        {label ? `${label}: ` : ''}
        {done} / {total}
        {rate !== undefined && rate > 0 ? ` · ${rate.toFixed(1)} ${rateUnit}` : ''}
        {etaSeconds !== undefined && etaSeconds > 0 ? ` · ETA ${formatDuration(etaSeconds)}` : ''}
      </span>
    </div>
  );
}

import type { ModelCard } from '../../../../workers/api';
import { formatBytes } from '../../format';

export function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** Name, parameters, size, source and sha256 of a loaded model. */
export function ModelCardView({ card, testId = 'model-card' }: { card: ModelCard; testId?: string }) {
  return (
    <table className="data" data-testid={testId}>
      <tbody>
        <tr>
          <th>name</th>
          <td data-testid="card-name">{card.name}</td>
        </tr>
        <tr>
          <th>parameters</th>
          <td data-testid="card-params" data-value={card.parameters}>
            {formatParameters(card.parameters)} ({card.parameters.toLocaleString('en-US')})
          </td>
        </tr>
        <tr>
          <th>size</th>
          <td data-testid="card-size" data-value={card.bytes}>
            {formatBytes(card.bytes)}
          </td>
        </tr>
        <tr>
          <th>file</th>
          <td>{card.fileName}</td>
        </tr>
        <tr>
          <th>source</th>
          <td data-testid="card-source">{card.source}</td>
        </tr>
        <tr>
          <th>sha256</th>
          <td data-testid="card-sha256">
            <code>{card.sha256}</code>
          </td>
        </tr>
        <tr>
          <th>details</th>
          <td>{card.details.join(' · ')}</td>
        </tr>
      </tbody>
    </table>
  );
}

import { useBackendStore } from '../stores/backendStore';

/** Which tfjs backend the worker got, on which adapter; a plain warning when it is not WebGPU. */
export function BackendBadge() {
  const { info, error } = useBackendStore();
  if (error)
    return (
      <span className="badge badge-error" data-testid="backend-badge">
        backend failed: {error}
      </span>
    );
  if (!info)
    return (
      <span className="badge" data-testid="backend-badge">
        starting…
      </span>
    );
  const adapter = info.adapter
    ? [info.adapter.vendor, info.adapter.architecture].filter(Boolean).join(' · ') || info.adapter.description
    : '';
  return (
    <span className="backend">
      <span
        className={`badge ${info.name === 'webgpu' ? 'badge-ok' : 'badge-warn'}`}
        data-testid="backend-badge"
        title={info.fallbackReasons.join('\n')}
      >
        {info.name}
        {adapter ? ` · ${adapter}` : ''}
      </span>
      {info.name !== 'webgpu' && (
        <span className="warning" role="alert">
          WebGPU is not available ({info.fallbackReasons[0] ?? 'unknown reason'}); training will be much slower. Use a
          recent Chrome with WebGPU enabled.
        </span>
      )}
    </span>
  );
}

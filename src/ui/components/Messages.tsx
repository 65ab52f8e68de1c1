import type { UserMessage } from '../../../workers/api';

/** User-facing problems: which file, what is wrong, what to do. `kind` 'notice' shows them as notices, not errors. */
export function Messages({
  items,
  testId = 'messages',
  kind,
}: {
  items: UserMessage[];
  testId?: string;
  kind?: 'error' | 'notice';
}) {
  if (items.length === 0) return null;
  return (
    <ul className="messages" data-testid={testId}>
      {items.map((m, i) => (
        <li
          key={i}
          className={kind ?? (m.code.startsWith('notice') || m.code === 'skipped' ? 'notice' : 'error')}
          data-code={m.code}
        >
          {m.file && <code className="file">{m.file}</code>} <span className="problem">{m.problem}</span>
          {m.fix && <span className="fix"> — {m.fix}</span>}
        </li>
      ))}
    </ul>
  );
}

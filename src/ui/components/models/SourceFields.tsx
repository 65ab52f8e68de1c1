import type { ConfigSourceDraft, ConfigSourceKind, FileSourceDraft, FileSourceKind } from './sourceDraft';

const FILE_KIND_LABEL: Record<FileSourceKind, string> = {
  hub: 'Hugging Face hub',
  url: 'URL',
  file: 'file on this computer',
};

/** Where one file comes from: a hub repo, a URL or a picked file. `testId` prefixes every control. */
export function FileSourceFields({
  draft,
  onChange,
  testId,
  label,
  allowNone,
  suggestedRepos = [],
}: {
  draft: FileSourceDraft | null;
  onChange: (d: FileSourceDraft | null) => void;
  testId: string;
  label: string;
  /** Hub repositories offered in the repo field (the user may type any other). */
  suggestedRepos?: readonly string[];
  /** Offers "none" (e.g. no tokenizer: image tower only); `draft` null means none. */
  allowNone?: { keep: FileSourceDraft };
}) {
  const current = draft ?? allowNone?.keep;
  if (!current) return null;
  return (
    <div className="row">
      <label>
        {label}{' '}
        <select
          data-testid={`${testId}-kind`}
          value={draft ? draft.kind : 'none'}
          onChange={(e) =>
            onChange(e.target.value === 'none' ? null : { ...current, kind: e.target.value as FileSourceKind })
          }
        >
          {(Object.keys(FILE_KIND_LABEL) as FileSourceKind[]).map((k) => (
            <option key={k} value={k}>
              {FILE_KIND_LABEL[k]}
            </option>
          ))}
          {allowNone && <option value="none">none</option>}
        </select>
      </label>
      {draft?.kind === 'hub' && (
        <>
          <input
            data-testid={`${testId}-repo`}
            size={60}
            list={`${testId}-repos`}
            value={draft.repo}
            placeholder="owner/name"
            onChange={(e) => onChange({ ...draft, repo: e.target.value })}
          />
          <datalist id={`${testId}-repos`}>
            {suggestedRepos.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
        </>
      )}
      {draft?.kind === 'url' && (
        <input
          data-testid={`${testId}-url`}
          size={60}
          value={draft.url}
          placeholder="https://…"
          onChange={(e) => onChange({ ...draft, url: e.target.value })}
        />
      )}
      {draft?.kind === 'file' && (
        <input
          data-testid={`${testId}-file`}
          type="file"
          onChange={(e) => onChange({ ...draft, file: e.target.files?.[0] ?? null })}
        />
      )}
    </div>
  );
}

/** The architecture: the config published next to the weights, a preset, or a config URL / file. */
export function ConfigSourceFields({
  draft,
  onChange,
  presets,
  nextToWeightsLabel,
  testId,
}: {
  draft: ConfigSourceDraft;
  onChange: (d: ConfigSourceDraft) => void;
  presets: readonly string[];
  nextToWeightsLabel: string;
  testId: string;
}) {
  const labels: Record<ConfigSourceKind, string> = {
    'next-to-weights': nextToWeightsLabel,
    preset: 'preset',
    url: 'config URL',
    file: 'config file',
  };
  return (
    <div className="row">
      <label>
        Architecture{' '}
        <select
          data-testid={`${testId}-kind`}
          value={draft.kind}
          onChange={(e) => onChange({ ...draft, kind: e.target.value as ConfigSourceKind })}
        >
          {(Object.keys(labels) as ConfigSourceKind[]).map((k) => (
            <option key={k} value={k}>
              {labels[k]}
            </option>
          ))}
        </select>
      </label>
      {draft.kind === 'preset' && (
        <select
          data-testid={`${testId}-preset`}
          value={draft.preset}
          onChange={(e) => onChange({ ...draft, preset: e.target.value })}
        >
          {presets.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      )}
      {draft.kind === 'url' && (
        <input
          data-testid={`${testId}-url`}
          size={60}
          value={draft.url}
          placeholder="https://…/config.json"
          onChange={(e) => onChange({ ...draft, url: e.target.value })}
        />
      )}
      {draft.kind === 'file' && (
        <input
          data-testid={`${testId}-file`}
          type="file"
          accept=".json"
          onChange={(e) => onChange({ ...draft, file: e.target.files?.[0] ?? null })}
        />
      )}
    </div>
  );
}

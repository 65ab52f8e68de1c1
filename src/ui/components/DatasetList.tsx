import { useState } from 'react';
import type { DatasetSummary } from '../../../workers/api';
import { formatBytes } from '../format';
import { useDatasetsStore } from '../stores/datasetsStore';
import { countOf } from '../../core/errors';

const ROLE: Record<DatasetSummary['role'], string> = {
  labeled: 'labeled',
  unlabeled: 'unlabeled',
  validation: 'validation',
};

function DatasetRow({ ds, selected }: { ds: DatasetSummary; selected: boolean }) {
  const { select, rename, remove } = useDatasetsStore();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(ds.name);
  return (
    <li className={`dataset ${selected ? 'selected' : ''}`} data-testid="dataset-row" data-name={ds.name}>
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setEditing(false);
            if (name.trim() && name.trim() !== ds.name) void rename(ds.id, name.trim());
          }}
        >
          <input data-testid="rename-input" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit">Save</button>
        </form>
      ) : (
        <button type="button" className="link" data-testid="dataset-open" onClick={() => select(ds.id)}>
          {ds.name}
        </button>
      )}
      <span className={`role role-${ds.role}`}>{ROLE[ds.role]}</span>
      <span data-testid="dataset-count">{countOf(ds.imageCount, 'image')}</span>
      <span>{countOf(ds.categoryCount, 'class', 'classes')}</span>
      <span>{formatBytes(ds.bytes)}</span>
      <span className="actions">
        <button type="button" data-testid="dataset-rename" onClick={() => setEditing(true)}>
          Rename
        </button>
        <button
          type="button"
          data-testid="dataset-delete"
          onClick={() => {
            if (confirm(`Delete dataset "${ds.name}" and its ${countOf(ds.imageCount, 'image')} from this browser?`))
              void remove(ds.id);
          }}
        >
          Delete
        </button>
      </span>
    </li>
  );
}

export function DatasetList() {
  const { datasets, selectedId, loaded } = useDatasetsStore();
  if (!loaded) return <p>Loading datasets…</p>;
  if (datasets.length === 0) return <p data-testid="no-datasets">No datasets yet: drop a folder above.</p>;
  return (
    <ul className="datasets" data-testid="dataset-list">
      {datasets.map((ds) => (
        <DatasetRow key={ds.id} ds={ds} selected={ds.id === selectedId} />
      ))}
    </ul>
  );
}

import { useEffect, useRef, useState, type DragEvent } from 'react';
import type { DatasetRole } from '../../../workers/api';
import { filesFromDataTransfer, filesFromInput } from '../dropFiles';
import { useDatasetsStore } from '../stores/datasetsStore';
import { Messages } from './Messages';
import { ProgressBar } from './ProgressBar';

const ROLE_LABEL: Record<DatasetRole, string> = { labeled: 'labeled train', unlabeled: 'unlabeled train', validation: 'validation' };

/** Drop folders or a .zip, or pick a folder; see what was found; choose name and role; import. */
export function ImportPanel() {
  const { phase, preview, progress, messages, scan, commit, cancel, dismissPreview } = useDatasetsStore();
  const [dragging, setDragging] = useState(false);
  const [name, setName] = useState('');
  const [role, setRole] = useState<DatasetRole>('labeled');
  const folderInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (preview) {
      setName(preview.suggestedName);
      setRole(preview.suggestedRole);
    }
  }, [preview]);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const files = await filesFromDataTransfer(e.dataTransfer);
    if (files.length) await scan(files);
  };

  const busy = phase === 'scanning' || phase === 'importing';
  return (
    <section className="import" aria-label="Import a dataset">
      <div
        className={`dropzone ${dragging ? 'dragging' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => void onDrop(e)}
      >
        <p>
          Drop dataset folders or a <code>.zip</code> here: COCO panoptic (JSON + PNG masks + images), simple (<code>images/</code>,{' '}
          <code>panoptic/</code>, <code>categories.json</code>) or a folder of unlabeled images.
        </p>
        <div className="row">
          <button type="button" disabled={busy} onClick={() => folderInput.current?.click()}>
            Choose a folder…
          </button>
          <input
            ref={folderInput}
            data-testid="folder-input"
            type="file"
            hidden
            multiple
            {...{ webkitdirectory: '', directory: '' }}
            onChange={(e) => {
              const files = filesFromInput(e.target.files);
              e.target.value = '';
              if (files.length) void scan(files);
            }}
          />
          <label className="button">
            Choose a .zip…
            <input
              data-testid="zip-input"
              type="file"
              hidden
              accept=".zip,application/zip"
              onChange={(e) => {
                const files = filesFromInput(e.target.files);
                e.target.value = '';
                if (files.length) void scan(files);
              }}
            />
          </label>
        </div>
      </div>
      {phase === 'scanning' && <p data-testid="scanning">Reading the files…</p>}
      {preview && (
        <div className="preview" data-testid="import-preview">
          <h3>Found: {preview.layout}</h3>
          <p>
            <span data-testid="preview-images">{preview.imageCount}</span> images, {preview.labeledCount} with panoptic masks,{' '}
            {preview.categories.length} categories
            {preview.categories.length > 0 &&
              ` (${preview.categories.filter((c) => c.isthing).length} things, ${preview.categories.filter((c) => !c.isthing).length} stuff)`}
          </p>
          <div className="row">
            <label>
              Name <input data-testid="import-name" value={name} onChange={(e) => setName(e.target.value)} disabled={busy} />
            </label>
            <label>
              Use as{' '}
              <select data-testid="import-role" value={role} onChange={(e) => setRole(e.target.value as DatasetRole)} disabled={busy}>
                {(Object.keys(ROLE_LABEL) as DatasetRole[]).map((r) => (
                  <option key={r} value={r} disabled={r !== 'unlabeled' && preview.labeledCount === 0}>
                    {ROLE_LABEL[r]}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" data-testid="import-commit" disabled={busy || preview.errors.length > 0 || !name.trim()} onClick={() => void commit(name.trim(), role)}>
              Import
            </button>
            <button type="button" disabled={busy} onClick={dismissPreview}>
              Discard
            </button>
          </div>
          {preview.errors.length > 0 && <p className="error">Fix the problems below and drop the folder again; nothing was stored.</p>}
        </div>
      )}
      {phase === 'importing' && progress && (
        <div className="row">
          <ProgressBar done={progress.done} total={progress.total} rate={progress.filesPerSecond} etaSeconds={progress.etaSeconds} label={progress.stage} />
          <button type="button" data-testid="import-cancel" onClick={() => void cancel()}>
            Cancel
          </button>
        </div>
      )}
      <Messages items={messages} testId="import-messages" />
    </section>
  );
}

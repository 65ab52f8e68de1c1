import { useEffect, useRef, useState, type DragEvent } from 'react';
import { countOf } from '../../core/errors';
import type { DatasetRole, ImportPreview } from '../../../workers/api';
import { filesFromDataTransfer, filesFromInput } from '../dropFiles';
import { useDatasetsStore } from '../stores/datasetsStore';
import { Messages } from './Messages';
import { ProgressBar } from './ProgressBar';
import { ReasonedButton, WAIT } from './ReasonedButton';

const ROLE_LABEL: Record<DatasetRole, string> = {
  labeled: 'labeled train',
  unlabeled: 'unlabeled train',
  validation: 'validation',
};

/** A split's name and role as edited in the preview; 'skip' leaves it out of the import. */
interface SplitChoice {
  name: string;
  role: DatasetRole | 'skip';
}

/** Whether the import can go ahead: no problem in the drop or in a split that is imported, and a name for each. */
function blockedBy(preview: ImportPreview, choices: SplitChoice[]): string | null {
  const included = preview.splits.filter((_, i) => choices[i] && choices[i].role !== 'skip');
  const problems = preview.errors.length + included.reduce((sum, s) => sum + s.errors.length, 0);
  if (problems > 0)
    return `Not importable: fix the ${countOf(problems, 'problem')} below${preview.splits.length > 1 ? ' (or leave out the splits that have them)' : ''} and drop the folder again; nothing was stored.`;
  if (preview.splits.length === 0) return 'Nothing to import.';
  if (included.length === 0) return 'Every split is left out: choose a role for at least one.';
  if (choices.some((c) => c.role !== 'skip' && !c.name.trim())) return 'Give every imported split a name.';
  return null;
}

/** Drop folders or a .zip, or pick a folder; see what was found; choose name and role; import. */
export function ImportPanel() {
  const { phase, preview, progress, messages, notices, scan, commit, cancel, dismissPreview } = useDatasetsStore();
  const [dragging, setDragging] = useState(false);
  const [choices, setChoices] = useState<SplitChoice[]>([]);
  const folderInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (preview) setChoices(preview.splits.map((s) => ({ name: s.suggestedName, role: s.suggestedRole })));
  }, [preview]);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    // Names are read before the first await: the browser empties the drop's item list after it.
    const dropped = Array.from(
      e.dataTransfer.items ?? [],
      (item) => item.webkitGetAsEntry?.()?.name ?? item.getAsFile()?.name ?? '',
    ).filter(Boolean);
    await scan(await filesFromDataTransfer(e.dataTransfer), dropped);
  };
  const change = (index: number, part: Partial<SplitChoice>) =>
    setChoices((all) => all.map((c, i) => (i === index ? { ...c, ...part } : c)));
  const blocked = preview && blockedBy(preview, choices);

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
          Drop dataset folders or a <code>.zip</code> here: COCO panoptic (JSON + PNG masks + images), simple (
          <code>images/</code>, <code>panoptic/</code>, <code>categories.json</code>) or a folder of unlabeled images.
        </p>
        <div className="row">
          <ReasonedButton why={busy ? WAIT : null} onClick={() => folderInput.current?.click()}>
            Choose a folder…
          </ReasonedButton>
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
              void scan(files);
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
          <h3>
            {preview.splits.length > 1
              ? `Found ${preview.splits.length} splits, each imported as its own dataset`
              : preview.splits.length === 1
                ? `Found: ${preview.splits[0].layout}`
                : 'Found nothing to import'}
          </h3>
          {preview.splits.length > 0 && (
            <table className="splits">
              <thead>
                <tr>
                  <th>split</th>
                  <th>contents</th>
                  <th>name</th>
                  <th>use as</th>
                </tr>
              </thead>
              <tbody>
                {preview.splits.map((split, i) => (
                  <tr data-testid="import-split" key={i}>
                    <td>
                      {split.layout}
                      {split.annotationFile && (
                        <code> {split.annotationFile.slice(split.annotationFile.lastIndexOf('/') + 1)}</code>
                      )}
                    </td>
                    <td>
                      <span data-testid="preview-images">{split.imageCount}</span>{' '}
                      {split.imageCount === 1 ? 'image' : 'images'}
                      {split.layout !== 'unlabeled' &&
                        `, ${split.labeledCount} with panoptic masks, ${countOf(split.categories.length, 'category', 'categories')}`}
                      {split.categories.length > 0 &&
                        ` (${countOf(split.categories.filter((c) => c.isthing).length, 'thing', 'things')}, ${split.categories.filter((c) => !c.isthing).length} stuff)`}
                    </td>
                    <td>
                      <input
                        aria-label="Name"
                        data-testid="import-name"
                        value={choices[i]?.name ?? ''}
                        onChange={(e) => change(i, { name: e.target.value })}
                        disabled={busy}
                      />
                    </td>
                    <td>
                      <select
                        aria-label="Use as"
                        data-testid="import-role"
                        value={choices[i]?.role ?? split.suggestedRole}
                        onChange={(e) => change(i, { role: e.target.value as SplitChoice['role'] })}
                        disabled={busy}
                      >
                        {(Object.keys(ROLE_LABEL) as DatasetRole[]).map((r) => (
                          <option key={r} value={r} disabled={r !== 'unlabeled' && split.labeledCount === 0}>
                            {ROLE_LABEL[r]}
                          </option>
                        ))}
                        <option value="skip">leave out</option>
                      </select>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="row">
            <ReasonedButton
              data-testid="import-commit"
              why={busy ? WAIT : blocked || null}
              onClick={() =>
                void commit(choices.map((c) => (c.role === 'skip' ? null : { name: c.name.trim(), role: c.role })))
              }
            >
              Import
            </ReasonedButton>
            <ReasonedButton why={busy ? WAIT : null} onClick={dismissPreview}>
              Discard
            </ReasonedButton>
          </div>
          {blocked && (
            <p className={messages.length ? 'error' : 'hint'} data-testid="import-blocked">
              {blocked}
            </p>
          )}
        </div>
      )}
      {phase === 'importing' && progress && (
        <div className="row">
          <ProgressBar
            done={progress.done}
            total={progress.total}
            rate={progress.filesPerSecond}
            etaSeconds={progress.etaSeconds}
            label={progress.stage}
          />
          <button type="button" data-testid="import-cancel" onClick={() => void cancel()}>
            Cancel
          </button>
        </div>
      )}
      <Messages items={messages} testId="import-messages" kind="error" />
      <Messages items={notices} testId="import-notices" kind="notice" />
    </section>
  );
}

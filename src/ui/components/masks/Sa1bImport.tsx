import { useRef, useState } from 'react';
import { filesFromInput } from '../../dropFiles';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { useMasksStore } from '../../stores/masksStore';
import { Messages } from '../Messages';
import { ReasonedButton, WAIT } from '../ReasonedButton';

/** A folder of SA-1B style JSONs (one per image, e.g. SAM ViT-H run offline) into a dataset's masks. */
export function Sa1bImport() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const { importResult, importSa1b } = useMasksStore();
  const [datasetId, setDatasetId] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const target = datasets.find((d) => d.id === datasetId) ?? datasets[0];

  return (
    <section className="panel" data-testid="sa1b-import">
      <h2>
        Import SA-1B masks{' '}
        <small>
          one JSON per image:{' '}
          {'{image, annotations: [{segmentation (COCO RLE), area, predicted_iou, stability_score}]}'}
        </small>
      </h2>
      <div className="row">
        <label>
          Into{' '}
          <select data-testid="sa1b-dataset" value={target?.id ?? ''} onChange={(e) => setDatasetId(e.target.value)}>
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <ReasonedButton
          why={!target ? 'Import a dataset first (Data tab): the masks belong to its images.' : busy ? WAIT : null}
          onClick={() => input.current?.click()}
        >
          Choose a folder of JSONs…
        </ReasonedButton>
        <input
          ref={input}
          data-testid="sa1b-input"
          type="file"
          hidden
          multiple
          {...{ webkitdirectory: '', directory: '' }}
          onChange={async (e) => {
            const files = filesFromInput(e.target.files);
            e.target.value = '';
            if (!target || files.length === 0) return;
            setBusy(true);
            await importSa1b(target.id, files);
            setBusy(false);
          }}
        />
      </div>
      {importResult && (
        <>
          <p data-testid="sa1b-result" data-imported={importResult.imported}>
            {importResult.imported} mask file{importResult.imported === 1 ? '' : 's'} imported
            {importResult.problems.length > 0 ? `, ${importResult.problems.length} not imported:` : '.'}
          </p>
          <Messages items={importResult.problems} testId="sa1b-messages" />
        </>
      )}
    </section>
  );
}

import { DatasetList } from './DatasetList';
import { ImportPanel } from './ImportPanel';
import { ProgressBar } from './ProgressBar';
import { ThumbnailGrid } from './ThumbnailGrid';
import { useDatasetsStore } from '../stores/datasetsStore';
import { countOf } from '../../core/errors';

export function DatasetsPanel() {
  const { datasets, selectedId, phase, progress, preview } = useDatasetsStore();
  const selected = datasets.find((d) => d.id === selectedId) ?? null;
  return (
    <>
      <section className="panel">
        <h2>Datasets</h2>
        {phase === 'importing' && progress?.stage && !preview && (
          <ProgressBar
            done={progress.done}
            total={progress.total}
            label={progress.stage}
            rate={progress.filesPerSecond}
            etaSeconds={progress.etaSeconds}
          />
        )}
        <ImportPanel />
        <DatasetList />
      </section>
      {selected && (
        <section className="panel" data-testid="dataset-view">
          <h2>
            {selected.name} <small>{countOf(selected.imageCount, 'image')}</small>
          </h2>
          <ThumbnailGrid datasetId={selected.id} count={selected.imageCount} />
        </section>
      )}
    </>
  );
}

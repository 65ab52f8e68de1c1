import { useEffect } from 'react';
import { BackendBadge } from './components/BackendBadge';
import { DatasetList } from './components/DatasetList';
import { ImageViewer } from './components/ImageViewer';
import { ImportPanel } from './components/ImportPanel';
import { StoragePanel } from './components/StoragePanel';
import { ThumbnailGrid } from './components/ThumbnailGrid';
import { ProgressBar } from './components/ProgressBar';
import { useBackendStore } from './stores/backendStore';
import { useDatasetsStore } from './stores/datasetsStore';

export function App() {
  const initBackend = useBackendStore((s) => s.init);
  const { datasets, selectedId, viewerImageId, openImage, loadDemoIfEmpty, phase, progress, preview } = useDatasetsStore();
  const selected = datasets.find((d) => d.id === selectedId) ?? null;

  useEffect(() => {
    void initBackend();
    void loadDemoIfEmpty();
  }, [initBackend, loadDemoIfEmpty]);

  return (
    <div className="app">
      <header>
        <h1>DEARLi Lab</h1>
        <BackendBadge />
        <StoragePanel />
      </header>
      <main>
        <section className="panel">
          <h2>Datasets</h2>
          {phase === 'importing' && progress?.stage && !preview && (
            <ProgressBar done={progress.done} total={progress.total} label={progress.stage} rate={progress.filesPerSecond} etaSeconds={progress.etaSeconds} />
          )}
          <ImportPanel />
          <DatasetList />
        </section>
        {selected && (
          <section className="panel" data-testid="dataset-view">
            <h2>
              {selected.name} <small>{selected.imageCount} images</small>
            </h2>
            <ThumbnailGrid datasetId={selected.id} count={selected.imageCount} />
          </section>
        )}
      </main>
      {viewerImageId && <ImageViewer imageId={viewerImageId} onClose={() => openImage(null)} />}
    </div>
  );
}

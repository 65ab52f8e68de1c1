import { useEffect, useState, type ReactNode } from 'react';
import { BackendBadge } from './components/BackendBadge';
import { DatasetsPanel } from './components/DatasetsPanel';
import { PipelineGuide } from './components/guide/PipelineGuide';
import { ImageViewer } from './components/ImageViewer';
import { MasksPanel } from './components/masks/MasksPanel';
import { ModelsPanel } from './components/models/ModelsPanel';
import { StoragePanel } from './components/StoragePanel';
import { TrainPanel } from './components/train/TrainPanel';
import { UseView } from './components/use/UseView';
import { useBackendStore } from './stores/backendStore';
import { useDatasetsStore } from './stores/datasetsStore';

/** The lab's pages, in pipeline order. Each concern adds its panel here. */
const TABS: { id: string; label: string; render: () => ReactNode }[] = [
  { id: 'data', label: 'Data', render: () => <DatasetsPanel /> },
  { id: 'models', label: 'Models', render: () => <ModelsPanel /> },
  { id: 'masks', label: 'Masks', render: () => <MasksPanel /> },
  { id: 'train', label: 'Train', render: () => <TrainPanel /> },
  { id: 'use', label: 'Use', render: () => <UseView /> },
];

const TAB_KEY = 'dearli.tab';

export function App() {
  const initBackend = useBackendStore((s) => s.init);
  const { viewerImageId, openImage, loadDemoIfEmpty } = useDatasetsStore();
  // A share link (#model=…) opens the Use view.
  const [tab, setTab] = useState(() =>
    /[#&]model=/.test(window.location.hash) ? 'use' : (localStorage.getItem(TAB_KEY) ?? 'data'),
  );
  const current = TABS.find((t) => t.id === tab) ?? TABS[0];
  const go = (id: string) => {
    setTab(id);
    localStorage.setItem(TAB_KEY, id);
  };

  useEffect(() => {
    void initBackend();
    void loadDemoIfEmpty();
  }, [initBackend, loadDemoIfEmpty]);

  return (
    <div className="app">
      <header>
        <h1>DEARLi Lab</h1>
        <nav className="tabs" role="tablist">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              role="tab"
              aria-selected={t.id === current.id}
              data-testid={`tab-${t.id}`}
              className={t.id === current.id ? 'active' : ''}
              onClick={() => go(t.id)}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <BackendBadge />
        <StoragePanel />
      </header>
      <main>
        <PipelineGuide tab={current.id} onGo={go} />
        {current.render()}
      </main>
      {viewerImageId && <ImageViewer imageId={viewerImageId} onClose={() => openImage(null)} />}
    </div>
  );
}

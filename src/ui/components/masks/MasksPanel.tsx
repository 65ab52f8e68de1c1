import { useEffect } from 'react';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { useMasksStore } from '../../stores/masksStore';
import { Messages } from '../Messages';
import { MaskStagePanel } from './MaskStagePanel';
import { MaskViewer } from './MaskViewer';
import { Sa1bImport } from './Sa1bImport';
import { SamLoader } from './SamLoader';

/** The Masks tab: SAM or the fallback, the mask stage over datasets, SA-1B import and a viewer. */
export function MasksPanel() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const { messages, refresh } = useMasksStore();
  useEffect(() => {
    void refresh(datasets.map((d) => d.id));
  }, [datasets, refresh]);
  return (
    <>
      <Messages items={messages} testId="masks-messages" />
      <SamLoader />
      <MaskStagePanel />
      <Sa1bImport />
      <MaskViewer />
    </>
  );
}

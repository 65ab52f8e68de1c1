import { useEffect } from 'react';
import { useModelsStore } from '../../stores/modelsStore';
import { WeightDropZone } from '../guide/WeightDropZone';
import { Messages } from '../Messages';
import { ClipLoader } from './ClipLoader';
import { SavedModels } from './SavedModels';
import { ZeroShotPanel } from './ZeroShotPanel';

/** The Models tab: CLIP weights, cached models, class names, features and zero-shot evaluation. */
export function ModelsPanel() {
  const { messages, refresh } = useModelsStore();
  useEffect(() => {
    void refresh();
  }, [refresh]);
  return (
    <>
      <Messages items={messages} testId="models-messages" />
      <WeightDropZone />
      <ClipLoader />
      <SavedModels />
      <ZeroShotPanel />
    </>
  );
}

import { useState } from 'react';
import { filesFromDataTransfer } from '../../dropFiles';
import { useModelsStore } from '../../stores/modelsStore';
import { clipRequestFromFiles } from './weightDrop';

/** Offline: drop the CLIP weight file with its config (and tokenizer) here to load it. */
export function WeightDropZone() {
  const { loadClip, loading } = useModelsStore();
  const [missing, setMissing] = useState<string | null>(null);
  return (
    <section
      className="panel dropzone"
      data-testid="weight-dropzone"
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        void filesFromDataTransfer(e.dataTransfer).then((dropped) => {
          const sorted = clipRequestFromFiles(dropped.map((d) => d.file));
          if ('missing' in sorted)
            return setMissing(`${sorted.missing} — drop the weights together with their config.`);
          setMissing(null);
          void loadClip(sorted.request);
        });
      }}
    >
      <p>
        {loading
          ? 'Loading…'
          : 'Offline? Drop CLIP weight files here: the .safetensors (or .bin) with its config.json, and the tokenizer for text prompts.'}
      </p>
      {missing && (
        <p className="warning" data-testid="weight-drop-missing">
          {missing}
        </p>
      )}
    </section>
  );
}

import { useEffect, useRef, useState } from 'react';
import type { ImageSummary } from '../../../../workers/api';
import { asMessage } from '../../messages';
import { pipeline } from '../../pipeline';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { useMasksStore } from '../../stores/masksStore';
import { MaskTable } from './MaskTable';

/** How many images of the chosen dataset are offered for viewing. */
const THUMBNAILS = 24;

/** Pick an image of a dataset and see its masks: random colours, count, IoU and stability per mask. */
export function MaskViewer() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const { view, openView, showMessage } = useMasksStore();
  const [datasetId, setDatasetId] = useState('');
  const [images, setImages] = useState<{ summary: ImageSummary; url: string }[]>([]);
  const dataset = datasets.find((d) => d.id === datasetId) ?? datasets[0];

  useEffect(() => {
    if (!dataset) return;
    let live = true;
    let urls: string[] = [];
    pipeline()
      .listImages(dataset.id, 0, THUMBNAILS)
      .then((list) => {
        if (!live) return;
        const next = list.map((summary) => ({ summary, url: URL.createObjectURL(summary.thumbnail) }));
        urls = next.map((i) => i.url);
        setImages(next);
      })
      .catch((e) => showMessage(asMessage(e)));
    return () => {
      live = false;
      urls.forEach((u) => URL.revokeObjectURL(u));
    };
  }, [dataset, showMessage]);

  return (
    <section className="panel" data-testid="mask-viewer-panel">
      <h2>Mask viewer</h2>
      <div className="row">
        <label>
          Dataset{' '}
          <select data-testid="viewer-dataset" value={dataset?.id ?? ''} onChange={(e) => setDatasetId(e.target.value)}>
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="row">
        {images.map(({ summary, url }) => (
          <button
            key={summary.id}
            type="button"
            className="thumb"
            style={{ width: 72, height: 72 }}
            data-testid="mask-thumb"
            title={summary.fileName}
            onClick={() => void openView(summary.id)}
          >
            <img src={url} alt={summary.fileName} />
          </button>
        ))}
      </div>
      {view && <MaskViewBody />}
    </section>
  );
}

function MaskViewBody() {
  const view = useMasksStore((s) => s.view)!;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [imageUrl, setImageUrl] = useState('');

  useEffect(() => {
    const url = URL.createObjectURL(view.image);
    setImageUrl(url);
    const ctx = canvas.current?.getContext('2d');
    ctx?.putImageData(new ImageData(new Uint8ClampedArray(view.overlay), view.width, view.height), 0, 0);
    return () => URL.revokeObjectURL(url);
  }, [view]);

  return (
    <div className="viewer-body" data-testid="mask-viewer">
      <div className="viewer-stage" style={{ aspectRatio: `${view.width} / ${view.height}` }}>
        {imageUrl && <img src={imageUrl} alt={view.fileName} />}
        <canvas ref={canvas} width={view.width} height={view.height} data-testid="mask-overlay" />
      </div>
      <div>
        <p>
          {view.fileName}: <strong data-testid="mask-count">{view.count}</strong> masks ·{' '}
          <span className={view.source === 'fallback' ? 'badge badge-warn' : 'badge'} data-testid="mask-source">
            {view.source === 'fallback' ? 'fallback (Felzenszwalb)' : view.source}
          </span>
        </p>
        <MaskTable key={view.fileName} masks={view.masks} />
      </div>
    </div>
  );
}

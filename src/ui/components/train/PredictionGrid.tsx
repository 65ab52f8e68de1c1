import { useEffect, useRef, useState } from 'react';
import type { PredictionView } from '../../../../workers/api';
import { useTrainingStore } from '../../stores/trainingStore';

function Overlay({
  rgba,
  width,
  height,
  image,
  label,
}: {
  rgba: Uint8ClampedArray | null;
  width: number;
  height: number;
  image: string;
  label: string;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!ref.current || !rgba) return;
    ref.current.width = width;
    ref.current.height = height;
    ref.current.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  }, [rgba, width, height]);
  return (
    <figure className="pred-cell">
      <div className="pred-stage" style={{ aspectRatio: `${width} / ${height}` }}>
        <img src={image} alt="" />
        {rgba && <canvas ref={ref} style={{ opacity: 0.6 }} />}
      </div>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

function PredictionRow({ p }: { p: PredictionView }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const u = URL.createObjectURL(p.image);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [p.image]);
  if (!url) return null;
  return (
    <div className="pred-row" data-testid="prediction-row">
      <Overlay rgba={null} width={p.width} height={p.height} image={url} label={p.fileName} />
      <Overlay rgba={p.groundTruth} width={p.width} height={p.height} image={url} label="ground truth" />
      <Overlay
        rgba={p.prediction}
        width={p.width}
        height={p.height}
        image={url}
        label={`prediction: ${p.segments.length} segments`}
      />
    </div>
  );
}

/** Image, ground truth and prediction side by side for the last validation pass. */
export function PredictionGrid() {
  const predictions = useTrainingStore((s) => s.predictions);
  if (predictions.length === 0) return <p className="muted">Predictions appear after the first validation.</p>;
  return (
    <div className="pred-grid">
      {predictions.map((p) => (
        <PredictionRow key={p.imageId} p={p} />
      ))}
    </div>
  );
}

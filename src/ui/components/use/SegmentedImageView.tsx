import { useEffect, useRef, useState } from 'react';
import type { SegmentedImage } from '../../../../workers/api';

/** A dropped image under its panoptic overlay, with the legend: each segment's class and score, thing/stuff and share of the image. */
export function SegmentedImageView({ result }: { result: SegmentedImage }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const u = URL.createObjectURL(result.image);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [result.image]);
  useEffect(() => {
    if (!canvas.current) return;
    canvas.current.width = result.width;
    canvas.current.height = result.height;
    canvas.current
      .getContext('2d')!
      .putImageData(new ImageData(new Uint8ClampedArray(result.overlay), result.width, result.height), 0, 0);
  }, [result, url]);
  const pixels = result.width * result.height;
  return (
    <div className="use-result" data-testid="use-result">
      <figure className="pred-cell">
        <div className="pred-stage" style={{ aspectRatio: `${result.width} / ${result.height}` }}>
          {url && <img src={url} alt={result.fileName} />}
          <canvas ref={canvas} style={{ opacity: 0.6 }} data-testid="use-overlay" />
        </div>
        <figcaption>{result.fileName}</figcaption>
      </figure>
      <ul className="use-legend" data-testid="use-legend">
        {result.segments.map((s) => (
          <li key={s.id} data-testid="use-segment" data-class={s.name} data-score={s.score}>
            <span className="swatch" style={{ background: `rgb(${s.color.join(',')})` }} /> {s.name}{' '}
            <span title="the class probability panoptic inference kept the segment for">{s.score.toFixed(2)}</span>{' '}
            <span className="muted">
              ({s.isthing ? 'thing' : 'stuff'}, {((100 * s.area) / pixels).toFixed(1)}% of the image)
            </span>
          </li>
        ))}
        {result.segments.length === 0 && <li className="muted">no segment found</li>}
      </ul>
    </div>
  );
}

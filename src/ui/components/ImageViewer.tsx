import { useEffect, useRef, useState } from 'react';
import type { ImageDetail, SegmentView } from '../../../workers/api';
import { formatPercent } from '../format';
import { pipeline } from '../pipeline';

/** One image with its panoptic overlay (class name on hover) and its class list. */
export function ImageViewer({ imageId, onClose }: { imageId: string; onClose: () => void }) {
  const [detail, setDetail] = useState<ImageDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [opacity, setOpacity] = useState(0.55);
  const [hover, setHover] = useState<SegmentView | null>(null);
  const [imageUrl, setImageUrl] = useState<string | null>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    let url: string | null = null;
    setDetail(null);
    pipeline()
      .getImageDetail(imageId)
      .then((d) => {
        url = URL.createObjectURL(d.image);
        setImageUrl(url);
        setDetail(d);
      })
      .catch((e: Error) => setError(e.message));
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [imageId]);

  useEffect(() => {
    const c = canvasRef.current;
    if (!c || !detail?.overlay) return;
    c.width = detail.width;
    c.height = detail.height;
    c.getContext('2d')!.putImageData(
      new ImageData(new Uint8ClampedArray(detail.overlay.rgba), detail.width, detail.height),
      0,
      0,
    );
  }, [detail]);

  const segmentAt = (e: React.MouseEvent<HTMLCanvasElement>) => {
    if (!detail?.overlay) return null;
    const r = e.currentTarget.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * detail.width);
    const y = Math.floor(((e.clientY - r.top) / r.height) * detail.height);
    const id = detail.overlay.ids[y * detail.width + x];
    return detail.segments.find((s) => s.id === id) ?? null;
  };

  return (
    <div className="viewer" role="dialog" aria-label="Image viewer" data-testid="image-viewer">
      <div className="viewer-head">
        <strong>{detail?.fileName ?? '…'}</strong>
        {detail && (
          <span>
            {detail.width}×{detail.height}
          </span>
        )}
        <label>
          overlay{' '}
          <input
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={opacity}
            onChange={(e) => setOpacity(Number(e.target.value))}
          />
        </label>
        <button type="button" data-testid="viewer-close" onClick={onClose}>
          Close
        </button>
      </div>
      {error && <p className="error">{error}</p>}
      {detail && imageUrl && (
        <div className="viewer-body">
          <div className="viewer-stage" style={{ aspectRatio: `${detail.width} / ${detail.height}` }}>
            <img src={imageUrl} alt={detail.fileName} />
            {detail.overlay && (
              <canvas
                ref={canvasRef}
                data-testid="overlay"
                style={{ opacity }}
                onMouseMove={(e) => setHover(segmentAt(e))}
                onMouseLeave={() => setHover(null)}
              />
            )}
            {hover && (
              <span className="hover-label" data-testid="hover-label">
                {hover.name} {hover.isthing ? `#${hover.id}` : ''}
              </span>
            )}
          </div>
          <table className="classes" data-testid="segment-table">
            <thead>
              <tr>
                <th />
                <th>class</th>
                <th>kind</th>
                <th>pixels</th>
              </tr>
            </thead>
            <tbody>
              {detail.segments.map((s) => (
                <tr key={s.id} className={hover?.id === s.id ? 'hl' : ''}>
                  <td>
                    <span className="swatch" style={{ background: `rgb(${s.color.join(',')})` }} />
                  </td>
                  <td>{s.name}</td>
                  <td>{s.iscrowd ? 'crowd' : s.isthing ? 'thing' : 'stuff'}</td>
                  <td>{formatPercent(s.share)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!detail.overlay && <p>No panoptic mask: this image is unlabeled.</p>}
        </div>
      )}
    </div>
  );
}

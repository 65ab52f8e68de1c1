import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ImageSummary } from '../../../workers/api';
import { pipeline } from '../pipeline';
import { useDatasetsStore } from '../stores/datasetsStore';

const TILE = 136;
const PAGE = 48;

/** A virtualised grid: only the rows in view exist in the DOM, and images load a page at a time. */
export function ThumbnailGrid({ datasetId, count }: { datasetId: string; count: number }) {
  const openImage = useDatasetsStore((s) => s.openImage);
  const parentRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const [pages, setPages] = useState<Map<number, ImageSummary[]>>(new Map());
  const urls = useRef(new Map<string, string>());
  const columns = Math.max(1, Math.floor(width / TILE));
  const rows = Math.ceil(count / columns);

  useEffect(() => {
    const el = parentRef.current;
    if (!el) return;
    const obs = new ResizeObserver(() => setWidth(el.clientWidth));
    obs.observe(el);
    return () => obs.disconnect();
  }, []);

  useEffect(() => {
    setPages(new Map());
    const cache = urls.current;
    return () => {
      for (const u of cache.values()) URL.revokeObjectURL(u);
      cache.clear();
    };
  }, [datasetId]);

  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => parentRef.current,
    estimateSize: () => TILE,
    overscan: 2,
  });
  const items = virtualizer.getVirtualItems();
  const neededPages = useMemo(() => {
    const set = new Set<number>();
    for (const row of items) {
      const first = row.index * columns;
      const last = Math.min(count - 1, first + columns - 1);
      for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) set.add(p);
    }
    return [...set];
  }, [items, columns, count]);

  useEffect(() => {
    let cancelled = false;
    for (const p of neededPages) {
      if (pages.has(p)) continue;
      void pipeline()
        .listImages(datasetId, p * PAGE, PAGE)
        .then((list) => {
          if (!cancelled) setPages((old) => new Map(old).set(p, list));
        });
    }
    return () => {
      cancelled = true;
    };
  }, [neededPages, pages, datasetId]);

  const imageAt = (i: number) => pages.get(Math.floor(i / PAGE))?.[i % PAGE];
  const urlFor = (img: ImageSummary) => {
    let u = urls.current.get(img.id);
    if (!u) {
      u = URL.createObjectURL(img.thumbnail);
      urls.current.set(img.id, u);
    }
    return u;
  };

  return (
    <div ref={parentRef} className="grid-scroll" data-testid="thumbnail-grid">
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {items.map((row) => (
          <div key={row.key} className="grid-row" style={{ transform: `translateY(${row.start}px)`, height: TILE }}>
            {Array.from({ length: columns }, (_, c) => row.index * columns + c)
              .filter((i) => i < count)
              .map((i) => {
                const img = imageAt(i);
                return img ? (
                  <button
                    key={img.id}
                    type="button"
                    className="thumb"
                    data-testid="thumbnail"
                    title={img.fileName}
                    onClick={() => openImage(img.id)}
                  >
                    <img src={urlFor(img)} alt={img.fileName} width={TILE - 8} height={TILE - 8} />
                    {img.labeled && <span className="thumb-tag">labeled</span>}
                  </button>
                ) : (
                  <span key={i} className="thumb placeholder" />
                );
              })}
          </div>
        ))}
      </div>
    </div>
  );
}

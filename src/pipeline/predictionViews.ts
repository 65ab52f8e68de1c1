/** Stored validation predictions as the viewer shows them: the image, its ground truth and the prediction painted at the image size. */
import type { Category } from '../core/panoptic';
import { decodeMaskPng } from '../data/decode';
import * as store from '../data/store';
import { paintOverlay, segmentColor } from './segmentColors';
import type { ImagePrediction } from './trainingEval';
import type { PredictionView } from './trainingApi';

export interface StoredPredictions {
  predictions: ImagePrediction[];
  categories: Category[];
  /** The run's names per class (class name first). */
  classNames: string[][];
}

/** The first `limit` predictions whose images are still stored. */
export async function predictionViews(
  db: store.DearliDB,
  { predictions, categories, classNames }: StoredPredictions,
  limit: number,
): Promise<PredictionView[]> {
  const byId = new Map(categories.map((c) => [c.id, c]));
  const views: PredictionView[] = [];
  for (const { ref, result } of predictions.slice(0, limit)) {
    const rec = await store.getImage(db, ref.imageId);
    if (!rec) continue;
    let gt: Uint8ClampedArray | null = null;
    if (rec.mask && rec.segments) {
      const { ids } = decodeMaskPng(new Uint8Array(await rec.mask.arrayBuffer()), rec.fileName);
      const segs = new Map(rec.segments.map((s) => [s.id, s]));
      gt = paintOverlay(ids, (id) => {
        const s = segs.get(id);
        return s ? segmentColor(s.id, byId.get(s.category_id)) : null;
      });
    }
    const predSegments = new Map(result.segments.map((s) => [s.id, s]));
    const prediction = paintOverlay(result.idMap, (id) => {
      const s = predSegments.get(id);
      return s ? segmentColor(s.id, categories[s.category_id]) : null;
    });
    views.push({
      imageId: ref.imageId,
      fileName: ref.fileName,
      width: ref.width,
      height: ref.height,
      image: rec.blob,
      groundTruth: gt,
      prediction,
      segments: result.segments.map((s) => ({ id: s.id, name: classNames[s.category_id][0], isthing: s.isthing })),
    });
  }
  return views;
}

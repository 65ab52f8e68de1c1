/**
 * Images as the pipeline reads them: RGBA pixels through an injected decoder (the browser's in the
 * worker, a PNG decoder in Node tests), and the images of datasets in store order, a page at a time.
 */
import { DearliError } from '../core/errors';
import * as store from '../data/store';

interface DecodedRgba {
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
}

/** An image Blob → RGBA pixels, optionally resized (stretched) to width × height. */
export type ImageDecoder = (
  blob: Blob,
  fileName: string,
  size?: { width: number; height: number },
) => Promise<DecodedRgba>;

/** The browser's decoder (worker or page): ImageBitmap without colour conversion, canvas resize. */
export const browserImageDecoder: ImageDecoder = async (blob, fileName, size) => {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new DearliError(
      'image-decode',
      `the image could not be decoded (${(e as Error).message})`,
      'Re-import the dataset; the stored image may be damaged.',
      fileName,
    );
  }
  const width = size?.width ?? bitmap.width;
  const height = size?.height ?? bitmap.height;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new DearliError('canvas', 'the worker has no 2D canvas', 'Use a current Chrome.');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return { rgba: ctx.getImageData(0, 0, width, height).data, width, height };
};

/** Images read per store request when walking a dataset. */
const PAGE = 32;

/** Every image of the datasets, in dataset then store order, read a page at a time. */
export async function* datasetImages(
  db: store.DearliDB,
  datasets: readonly store.DatasetRecord[],
): AsyncGenerator<store.ImageRecord> {
  for (const dataset of datasets) {
    for (let offset = 0; offset < dataset.imageCount; offset += PAGE) {
      for (const image of await store.listImages(db, dataset.id, offset, PAGE)) yield image;
    }
  }
}

/** The images of datasets by position (what a resumable per-image stage steps through). */
export class ImageSequence {
  readonly total: number;
  private page: { dataset: string; offset: number; images: store.ImageRecord[] } | null = null;

  constructor(
    private readonly db: store.DearliDB,
    private readonly datasets: readonly store.DatasetRecord[],
  ) {
    this.total = datasets.reduce((n, d) => n + d.imageCount, 0);
  }

  async at(index: number): Promise<{ image: store.ImageRecord; dataset: store.DatasetRecord }> {
    let rest = index;
    for (const dataset of this.datasets) {
      if (rest >= dataset.imageCount) {
        rest -= dataset.imageCount;
        continue;
      }
      const offset = rest - (rest % PAGE);
      if (this.page?.dataset !== dataset.id || this.page.offset !== offset) {
        this.page = { dataset: dataset.id, offset, images: await store.listImages(this.db, dataset.id, offset, PAGE) };
      }
      const image = this.page.images[rest - offset];
      if (image) return { image, dataset };
      break;
    }
    throw new DearliError(
      'missing-image',
      `image ${index + 1} of ${this.total} is no longer stored`,
      'Its dataset was deleted or changed; run the stage again.',
    );
  }
}

export async function requireDatasets(db: store.DearliDB, ids: readonly string[]): Promise<store.DatasetRecord[]> {
  const datasets = await Promise.all(ids.map((id) => store.getDataset(db, id)));
  const missing = ids.filter((_, i) => !datasets[i]);
  if (missing.length > 0)
    throw new DearliError(
      'not-found',
      `dataset ${missing.join(', ')} is not stored`,
      'It may have been deleted; pick another dataset.',
    );
  return datasets as store.DatasetRecord[];
}

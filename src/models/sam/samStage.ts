/**
 * Stage 1 (SAM pseudo-masks for DeWa) for one image: SAM automatic mask generation when a model is
 * loaded, otherwise the classical Felzenszwalb fallback. Returns SA-1B style records; persisting them
 * is the caller's job.
 */
import { DearliError } from '../../core/errors';
import { felzenszwalbMasks, type FelzenszwalbOptions } from '../../core/felzenszwalb';
import type { MaskRecord } from '../../core/maskRecord';
import { generateSamMasks, type AutoMaskOptions, type AutoMaskProgress } from './autoMask';
import { SamPredictor, type SamModel } from './sam';

/** What produces the masks: a loaded SAM model, or the fallback when no SAM weights exist. */
export type MaskGenerator = { kind: 'sam'; model: SamModel } | { kind: 'fallback' };

export interface MaskStageOptions {
  autoMask?: Partial<AutoMaskOptions>;
  fallback?: Partial<FelzenszwalbOptions>;
  onProgress?: (progress: AutoMaskProgress) => void;
}

/**
 * Masks for one RGBA image (row-major, width×height×4). The SAM image embedding lives on the GPU
 * only for the duration of the call (with crop layers, plus one crop's embedding at a time).
 */
export async function generateMasksForImage(
  generator: MaskGenerator,
  imageRGBA: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  options: MaskStageOptions = {},
  signal?: AbortSignal,
): Promise<MaskRecord[]> {
  if (imageRGBA.length !== width * height * 4) {
    throw new DearliError(
      'image-size',
      `the image buffer has ${imageRGBA.length} bytes, expected ${width}×${height}×4 (RGBA)`,
      'Pass the RGBA pixels that belong to the given width and height.',
    );
  }
  signal?.throwIfAborted();
  if (generator.kind === 'fallback') return felzenszwalbMasks(imageRGBA, width, height, options.fallback);
  const predictor = new SamPredictor(generator.model);
  try {
    predictor.setImage(imageRGBA, width, height, 4);
    return await generateSamMasks(predictor, options.autoMask, signal, options.onProgress);
  } finally {
    predictor.resetImage();
  }
}

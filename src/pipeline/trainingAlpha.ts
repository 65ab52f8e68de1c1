/**
 * α tools of a Mean Teacher run, from the teacher's cached outputs (no decoder run per α):
 *   - the α sweep: the teacher once over validation images caching P_MT's logits, CLIP's logits of its
 *     masks and the mask logits, then PQ(α) for α = 0, 0.1, …, 1 (src/train/alphaSweep.ts);
 *   - the pseudo-label strip: for a few unlabeled images, the weak view and the hard pseudo-labels
 *     from P_MT alone (α = 1), P_CLIP alone (α = 0) and P_ENS at the chosen α, re-ensembled from the
 *     cached teacher readback whenever α moves.
 */
import * as tf from '@tensorflow/tfjs';
import type { Category } from '../core/panoptic';
import type { TextClassifier } from '../models/decoder/classHead';
import type { M2FLang } from '../models/decoder/m2fLang';
import { tidyAll } from '../models/ops/scope';
import { alphaSweep, type SweepImage, type SweepPoint } from '../train/alphaSweep';
import { augmentImage } from '../train/augment';
import type { PanopticResult } from '../train/panopticInference';
import { pseudoLabelOfView, teacherOutputs, type TeacherOutputs } from '../train/pseudoLabels';
import { normalizeForClip, type Backbone } from './backbone';
import { paintOverlay, segmentColor } from './segmentColors';
import type { SampleRef, TrainingSamples } from './trainingData';
import { testForward } from './trainingEval';
import type { PseudoLabelStripView } from './trainingApi';

/** The teacher's test-geometry readback of each validation image, with its ground truth. */
export async function sweepImages(
  samples: TrainingSamples,
  backbone: Backbone,
  teacher: M2FLang,
  classifier: TextClassifier,
  refs: readonly SampleRef[],
): Promise<SweepImage[]> {
  const images: SweepImage[] = [];
  for (const ref of refs) {
    const f = await testForward(await samples.imageTensor(ref.imageId), backbone, teacher, classifier, true);
    const label = await samples.panopticLabel(ref.imageId);
    images.push({
      classLogits: f.classLogits,
      clipLogits: f.clipLogits!,
      maskLogits: f.maskLogits,
      gt: { ids: label.ids, width: ref.width, height: ref.height, segments: label.segments, pngFile: ref.fileName },
    });
  }
  return images;
}

export function sweepFromCache(
  images: readonly SweepImage[],
  numQueries: number,
  categories: readonly Category[],
): { points: SweepPoint[]; best: SweepPoint } {
  return alphaSweep(images, { numQueries, categories, objectMaskThreshold: 0.0, overlapThreshold: 0.8 });
}

/** The teacher's readback of the strip's weak views (the whole image resized to the crop: a fixed weak geometry). */
export interface StripCache {
  refs: SampleRef[];
  crop: number;
  /** RGBA of each weak view, crop × crop. */
  weakViews: Uint8ClampedArray[];
  outputs: TeacherOutputs;
}

export async function stripCache(
  samples: TrainingSamples,
  backbone: Backbone,
  teacher: M2FLang,
  classifier: TextClassifier,
  refs: SampleRef[],
): Promise<StripCache> {
  const crop = teacher.config.cropSize;
  const views: tf.Tensor3D[] = [];
  for (const ref of refs)
    views.push(
      augmentImage(
        await samples.imageTensor(ref.imageId),
        { height: crop, width: crop, cropY: 0, cropX: 0, flip: false, colour: null },
        crop,
      ),
    );
  const batch = tf.stack(views) as tf.Tensor4D;
  const features = tidyAll(() => backbone.trunk.forwardFeatures(normalizeForClip(batch)));
  const outputs = await teacherOutputs(teacher, features, classifier, backbone.clip);
  tf.dispose(Object.values(features));
  const rgb = (await batch.data()) as Float32Array;
  tf.dispose([batch, ...views]);
  const plane = crop * crop;
  const weakViews = refs.map((_, i) => {
    const rgba = new Uint8ClampedArray(plane * 4);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) rgba[4 * p + c] = rgb[(i * plane + p) * 3 + c];
      rgba[4 * p + 3] = 255;
    }
    return rgba;
  });
  return { refs, crop, weakViews, outputs };
}

/** The strip at α: host work only (ensemble, mask upsampling, panoptic inference). */
export function stripAt(
  cache: StripCache,
  alpha: number,
  categories: readonly Category[],
  decoderRuns: number,
): PseudoLabelStripView {
  const options = { isThing: (k: number) => categories[k].isthing };
  const paint = (r: PanopticResult) => {
    const segments = new Map(r.segments.map((s) => [s.id, s]));
    return paintOverlay(r.idMap, (id) => {
      const s = segments.get(id);
      return s ? segmentColor(s.id, categories[s.category_id]) : null;
    });
  };
  return {
    alpha,
    crop: cache.crop,
    decoderRuns,
    items: cache.refs.map((ref, i) => ({
      imageId: ref.imageId,
      fileName: ref.fileName,
      weakView: cache.weakViews[i],
      teacher: paint(pseudoLabelOfView(cache.outputs, i, cache.crop, { ...options, alpha: 1 })),
      clip: paint(pseudoLabelOfView(cache.outputs, i, cache.crop, { ...options, alpha: 0 })),
      ensemble: paint(pseudoLabelOfView(cache.outputs, i, cache.crop, { ...options, alpha })),
    })),
  };
}

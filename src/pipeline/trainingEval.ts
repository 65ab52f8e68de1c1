/**
 * Validation of the decoder during training: each validation image is resized (longest side to
 * the crop, padded), predicted, its mask logits cropped back and resized to the image size, then
 * M2F panoptic inference and the lab's evaluator (src/core/pq.ts). One readback per image.
 */
import * as tf from '@tensorflow/tfjs';
import type { Category } from '../core/panoptic';
import { PanopticEvaluator } from '../core/pq';
import type { TextClassifier } from '../models/decoder/classHead';
import type { M2FLang, TrunkFeatures } from '../models/decoder/m2fLang';
import { resizePlanes } from '../models/ops/resize';
import { tidyAll } from '../models/ops/scope';
import { augmentImage } from '../train/augment';
import { panopticInference, type PanopticResult } from '../train/panopticInference';
import { normalizeForClip, type Backbone } from './backbone';
import type { SampleRef, TrainingSamples } from './trainingData';
import type { EvalPoint } from './trainingApi';

export interface ImagePrediction {
  ref: SampleRef;
  result: PanopticResult;
}

/** Predicts one image at its own size. */
export async function predictImage(
  samples: TrainingSamples,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  categories: readonly Category[],
  ref: SampleRef,
): Promise<PanopticResult> {
  return predictImageTensor(await samples.imageTensor(ref.imageId), backbone, model, classifier, categories);
}

/** Predicts an RGB 0–255 [H, W, 3] image at its own size (validation images, images dropped in the Use view). */
export async function predictImageTensor(
  image: tf.Tensor3D,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  categories: readonly { isthing: boolean }[],
): Promise<PanopticResult> {
  const [height, width] = image.shape;
  const ref = { height, width };
  const crop = model.config.cropSize;
  const scale = crop / Math.max(ref.width, ref.height);
  const rh = Math.max(1, Math.round(ref.height * scale));
  const rw = Math.max(1, Math.round(ref.width * scale));
  const [cls, masks] = tf.tidy(() => {
    const input = augmentImage(image, { height: rh, width: rw, cropY: 0, cropX: 0, flip: false, colour: null }, crop);
    const features: TrunkFeatures = tidyAll(() => backbone.trunk.forwardFeatures(normalizeForClip(tf.expandDims(input, 0) as tf.Tensor4D)));
    const preds = model.forward(features, classifier);
    const last = preds[preds.length - 1];
    const padded = resizePlanes(last.maskLogits, crop, crop);
    const valid = tf.slice(padded, [0, 0, 0, 0], [1, -1, rh, rw]);
    return [last.classLogits, resizePlanes(valid, ref.height, ref.width)];
  });
  const [c, m] = await Promise.all([cls.data(), masks.data()]);
  tf.dispose([cls, masks]);
  return panopticInference(c, m, model.config.numQueries, ref.height, ref.width, {
    numClasses: categories.length,
    isThing: (k) => categories[k].isthing,
  });
}

/** PQ/SQ/RQ and mIoU of the model on the validation images, plus their predictions for the viewer. */
export async function evaluateDecoder(
  samples: TrainingSamples,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  categories: readonly Category[],
  refs: SampleRef[],
  iteration: number,
): Promise<{ point: EvalPoint; predictions: ImagePrediction[] }> {
  const evaluator = new PanopticEvaluator(categories);
  const predictions: ImagePrediction[] = [];
  for (const ref of refs) {
    const result = await predictImage(samples, backbone, model, classifier, categories, ref);
    const gt = await samples.panopticLabel(ref.imageId);
    evaluator.addImage(
      { ids: gt.ids, width: ref.width, height: ref.height, segments: gt.segments, pngFile: ref.fileName },
      {
        ids: Uint32Array.from(result.idMap),
        width: ref.width,
        height: ref.height,
        segments: result.segments.map((s) => ({ id: s.id, category_id: categories[s.category_id].id })),
        pngFile: `prediction for ${ref.fileName}`,
      },
    );
    predictions.push({ ref, result });
  }
  const { pq, miou, images } = evaluator.summarize();
  return {
    point: {
      iteration,
      pq: pq.All.pq,
      sq: pq.All.sq,
      rq: pq.All.rq,
      pqThings: pq.Things.pq,
      pqStuff: pq.Stuff.pq,
      miou: miou.miou,
      images,
      perClass: categories.map((c) => ({ name: c.name, isthing: c.isthing, ...pq.per_class[c.id] })),
    },
    predictions,
  };
}

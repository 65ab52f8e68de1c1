/**
 * Validation of the decoder during training, at upstream's test geometry (fidelity review §5):
 * shortest edge to the crop, padded to a multiple of 32, mask logits cropped back and resized to the
 * image size; then M2F panoptic inference for PQ (src/core/pq.ts) and M2F semantic inference on the
 * device for mIoU (src/core/semanticIoU.ts), as upstream's semantic evaluator. One readback per image.
 */
import * as tf from '@tensorflow/tfjs';
import type { Category } from '../core/panoptic';
import { PanopticEvaluator } from '../core/pq';
import type { TextClassifier } from '../models/decoder/classHead';
import type { M2FLang, TrunkFeatures } from '../models/decoder/m2fLang';
import { SemanticEvaluator } from '../core/semanticIoU';
import { tidyAll } from '../models/ops/scope';
import { maskLogitsToImage, planTestResize, testResizeImage, testResizeOptions } from '../train/evaluationResize';
import { panopticInference, type PanopticResult } from '../train/panopticInference';
import { semanticInferenceOnDevice } from '../train/semanticInference';
import { normalizeForClip, type Backbone } from './backbone';
import type { SampleRef, TrainingSamples } from './trainingData';
import type { EvalPoint } from './trainingApi';

export interface ImagePrediction {
  ref: SampleRef;
  result: PanopticResult;
}

export interface ImageInference {
  panoptic: PanopticResult;
  /** Class index per pixel [H·W] (M2F semantic inference). */
  semantic: Int32Array;
}

/** Predicts one image at its own size. */
export async function predictImage(
  samples: TrainingSamples,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  categories: readonly Category[],
  ref: SampleRef,
): Promise<ImageInference> {
  const plan = planTestResize(ref.height, ref.width, testResizeOptions(model.config.cropSize));
  const image = await samples.imageTensor(ref.imageId);
  const [cls, masks, labels] = tf.tidy(() => {
    const features: TrunkFeatures = tidyAll(() => backbone.trunk.forwardFeatures(normalizeForClip(testResizeImage(image, plan))));
    const preds = model.forward(features, classifier);
    const last = preds[preds.length - 1];
    const classLogits = tf.squeeze(last.classLogits, [0]) as tf.Tensor2D;
    const maskLogits = maskLogitsToImage(last.maskLogits, plan);
    return [classLogits, maskLogits, semanticInferenceOnDevice(classLogits, maskLogits)];
  });
  const [c, m, s] = await Promise.all([cls.data(), masks.data(), labels.data()]);
  tf.dispose([cls, masks, labels]);
  const panoptic = panopticInference(c, m, model.config.numQueries, ref.height, ref.width, {
    numClasses: categories.length,
    isThing: (k) => categories[k].isthing,
  });
  return { panoptic, semantic: s as Int32Array };
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
  const semantic = new SemanticEvaluator(categories);
  const predictions: ImagePrediction[] = [];
  for (const ref of refs) {
    const { panoptic: result, semantic: labels } = await predictImage(samples, backbone, model, classifier, categories, ref);
    const label = await samples.panopticLabel(ref.imageId);
    const gt = { ids: label.ids, width: ref.width, height: ref.height, segments: label.segments, pngFile: ref.fileName };
    semantic.addImage(gt, labels);
    evaluator.addImage(
      gt,
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
  const { pq, images } = evaluator.summarize();
  return {
    point: { iteration, pq: pq.All.pq, sq: pq.All.sq, rq: pq.All.rq, pqThings: pq.Things.pq, pqStuff: pq.Stuff.pq, miou: semantic.summarize().miou, images },
    predictions,
  };
}

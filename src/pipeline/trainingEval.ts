/**
 * Validation of the decoder during training, at upstream's test geometry (fidelity review §5):
 * shortest edge to the crop, padded to a multiple of 32, mask logits cropped back and resized to the
 * image size; then M2F panoptic inference for PQ (src/core/pq.ts) and M2F semantic inference on the
 * device for mIoU (src/core/semanticIoU.ts), as upstream's semantic evaluator. One readback per image.
 * Test-time ensembling (review §5b): the same forward's masks pooled over res5 give CLIP's class
 * logits, geometrically ensembled with the model's (ensemblePosteriors, weight 1 − α on CLIP); both
 * the model alone and the ensemble are scored from that one forward.
 */
import * as tf from '@tensorflow/tfjs';
import type { Category } from '../core/panoptic';
import { PanopticEvaluator, type PanopticImage } from '../core/pq';
import type { TextClassifier } from '../models/decoder/classHead';
import type { M2FLang, TrunkFeatures } from '../models/decoder/m2fLang';
import { SemanticEvaluator } from '../core/semanticIoU';
import { tidyAll } from '../models/ops/scope';
import { maskLogitsToImage, planTestResize, testResizeImage, testResizeOptions } from '../train/evaluationResize';
import { panopticInference, type PanopticResult } from '../train/panopticInference';
import { semanticInferenceOnDevice } from '../train/semanticInference';
import { maskPool, zeroShotLogits } from '../models/clip/zeroShot';
import { ensemblePosteriors } from '../train/pseudoLabels';
import { normalizeForClip, type Backbone } from './backbone';
import type { SampleRef, TrainingSamples } from './trainingData';
import type { ClassScores, EvalPoint, QualityFigures } from './trainingApi';

export interface ImagePrediction {
  ref: SampleRef;
  result: PanopticResult;
}

interface ImageInference {
  panoptic: PanopticResult;
  /** Class index per pixel [H·W] (M2F semantic inference). */
  semantic: Int32Array;
}

/** The model alone, and (with an α) ensembled with CLIP at test time. */
interface ImageInferences {
  model: ImageInference;
  ensembled: ImageInference | null;
}

/** One forward at the test geometry, read back: logits at the image size and the semantic labels. */
export interface TestForward {
  /** [Q, C+1], void last. */
  classLogits: Float32Array;
  /** [Q, C]: CLIP zero-shot logits of the model's masks pooled over the same forward's res5; null without. */
  clipLogits: Float32Array | null;
  /** [Q, H·W] at the image size. */
  maskLogits: Float32Array;
  semantic: Int32Array;
}

/** Forward of one image at its own size (one readback), with CLIP's classification of its masks when asked. */
export async function testForward(
  image: tf.Tensor3D,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  withClip: boolean,
): Promise<TestForward> {
  const [height, width] = image.shape;
  const plan = planTestResize(height, width, testResizeOptions(model.config.cropSize));
  const { cls, clipCls, masks, labels } = tf.tidy(() => {
    const features: TrunkFeatures = tidyAll(() =>
      backbone.trunk.forwardFeatures(normalizeForClip(testResizeImage(image, plan))),
    );
    const preds = model.forward(features, classifier);
    const last = preds[preds.length - 1];
    const classLogits = tf.squeeze(last.classLogits, [0]) as tf.Tensor2D;
    const maskLogits = maskLogitsToImage(last.maskLogits, plan);
    const out: Record<string, tf.Tensor> = {
      cls: classLogits,
      masks: maskLogits,
      labels: semanticInferenceOnDevice(classLogits, maskLogits),
    };
    if (withClip)
      out.clipCls = zeroShotLogits(
        backbone.clip.head.project(maskPool(features.res5, last.maskLogits)),
        classifier,
        backbone.clip.logitScale,
      );
    return out as { cls: tf.Tensor2D; masks: tf.Tensor; labels: tf.Tensor1D; clipCls?: tf.Tensor };
  });
  const [c, m, s, z] = await Promise.all([cls.data(), masks.data(), labels.data(), clipCls?.data() ?? null]);
  tf.dispose([cls, masks, labels, ...(clipCls ? [clipCls] : [])]);
  return {
    classLogits: c as Float32Array,
    clipLogits: (z as Float32Array | null) ?? null,
    maskLogits: m as Float32Array,
    semantic: s as Int32Array,
  };
}

/** Predicts one validation image at its own size; `ensembleAlpha` (P_MT's weight) adds the test-time ensemble with CLIP. */
async function predictImage(
  samples: TrainingSamples,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  categories: readonly Category[],
  ref: SampleRef,
  ensembleAlpha: number | null = null,
): Promise<ImageInferences> {
  return predictImageTensor(
    await samples.imageTensor(ref.imageId),
    backbone,
    model,
    classifier,
    categories,
    ensembleAlpha,
  );
}

/** Predicts an RGB 0–255 [H, W, 3] image at its own size (validation images, images dropped in the Use view). */
export async function predictImageTensor(
  image: tf.Tensor3D,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  categories: readonly { isthing: boolean }[],
  ensembleAlpha: number | null = null,
): Promise<ImageInferences> {
  const [height, width] = image.shape;
  const numQueries = model.config.numQueries;
  const f = await testForward(image, backbone, model, classifier, ensembleAlpha !== null);
  const options = { numClasses: categories.length, isThing: (k: number) => categories[k].isthing };
  const inference = {
    panoptic: panopticInference(f.classLogits, f.maskLogits, numQueries, height, width, options),
    semantic: f.semantic,
  };
  let ensembled: ImageInference | null = null;
  if (f.clipLogits && ensembleAlpha !== null) {
    const scores = ensemblePosteriors(f.classLogits, f.clipLogits, numQueries, categories.length, ensembleAlpha);
    const semantic = tf.tidy(() =>
      semanticInferenceOnDevice(
        tf.tensor2d(Float32Array.from(scores), [numQueries, categories.length + 1]),
        tf.tensor2d(f.maskLogits, [numQueries, height * width]),
      ),
    );
    ensembled = {
      panoptic: panopticInference(scores, f.maskLogits, numQueries, height, width, options),
      semantic: (await semantic.data()) as Int32Array,
    };
    semantic.dispose();
  }
  return { model: inference, ensembled };
}

/** Accumulates PQ and mIoU over images. */
class QualityAccumulator {
  private readonly panoptic: PanopticEvaluator;
  private readonly semantic: SemanticEvaluator;
  constructor(private readonly categories: readonly Category[]) {
    this.panoptic = new PanopticEvaluator(categories);
    this.semantic = new SemanticEvaluator(categories);
  }

  add(gt: PanopticImage, ref: SampleRef, inference: ImageInference): void {
    const { panoptic: result } = inference;
    this.semantic.addImage(gt, inference.semantic);
    this.panoptic.addImage(gt, {
      ids: Uint32Array.from(result.idMap),
      width: ref.width,
      height: ref.height,
      segments: result.segments.map((s) => ({ id: s.id, category_id: this.categories[s.category_id].id })),
      pngFile: `prediction for ${ref.fileName}`,
    });
  }

  summarize(): QualityFigures & { images: number; perClass: ClassScores[] } {
    const { pq, images } = this.panoptic.summarize();
    const perClass = this.categories.map((c) => ({ name: c.name, isthing: c.isthing, ...pq.per_class[c.id] }));
    return {
      pq: pq.All.pq,
      sq: pq.All.sq,
      rq: pq.All.rq,
      pqThings: pq.Things.pq,
      pqStuff: pq.Stuff.pq,
      miou: this.semantic.summarize().miou,
      images,
      perClass,
    };
  }
}

/** PQ/SQ/RQ and mIoU of the model on the validation images (and of its test-time ensemble with CLIP), plus its predictions for the viewer. */
export async function evaluateDecoder(
  samples: TrainingSamples,
  backbone: Backbone,
  model: M2FLang,
  classifier: TextClassifier,
  categories: readonly Category[],
  refs: SampleRef[],
  iteration: number,
  ensembleAlpha: number | null = null,
): Promise<{ point: EvalPoint; predictions: ImagePrediction[] }> {
  const alone = new QualityAccumulator(categories);
  const ensemble = new QualityAccumulator(categories);
  const predictions: ImagePrediction[] = [];
  for (const ref of refs) {
    const { model: inference, ensembled } = await predictImage(
      samples,
      backbone,
      model,
      classifier,
      categories,
      ref,
      ensembleAlpha,
    );
    const label = await samples.panopticLabel(ref.imageId);
    const gt: PanopticImage = {
      ids: label.ids,
      width: ref.width,
      height: ref.height,
      segments: label.segments,
      pngFile: ref.fileName,
    };
    alone.add(gt, ref, inference);
    if (ensembled) ensemble.add(gt, ref, ensembled);
    predictions.push({ ref, result: (ensembled ?? inference).panoptic });
  }
  const point: EvalPoint = { iteration, ...alone.summarize() };
  if (ensembleAlpha !== null) {
    const { perClass: _perClass, ...figures } = ensemble.summarize();
    point.ensembled = { alpha: ensembleAlpha, ...figures };
  }
  return { point, predictions };
}

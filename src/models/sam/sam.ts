/**
 * The SAM model (image encoder + prompt encoder + mask decoder) and a predictor that encodes an
 * image once, keeps the embedding on the GPU and answers any number of prompts against it
 * (segment-anything `SamPredictor`).
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../../core/errors';
import type { SamConfig } from './config';
import { SamImageEncoder } from './imageEncoder';
import { SamMaskDecoder, type SamDecoderOutput } from './maskDecoder';
import { postprocessMasks } from './postprocess';
import { applyCoords, normalizeAndPad, resizedShape, resizeRgbBilinear } from './preprocess';
import { SamPromptEncoder, type SamPrompts } from './promptEncoder';
import type { TensorSource } from '../weights/tensorSource';
import { disposeSamWeights, loadSamWeights, type SamWeights } from './weights';

export class SamModel {
  readonly config: SamConfig;
  readonly weights: SamWeights;
  readonly imageEncoder: SamImageEncoder;
  readonly promptEncoder: SamPromptEncoder;
  readonly maskDecoder: SamMaskDecoder;
  /** `get_dense_pe()`, [1, h, w, C]: the same for every image, so computed once. */
  readonly densePe: tf.Tensor4D;

  constructor(config: SamConfig, weights: SamWeights) {
    this.config = config;
    this.weights = weights;
    this.imageEncoder = new SamImageEncoder(config.imageEncoder, weights.tensors, weights.blockDims);
    this.promptEncoder = new SamPromptEncoder(config.promptEncoder, weights.tensors);
    this.maskDecoder = new SamMaskDecoder(config.maskDecoder, weights.tensors);
    this.densePe = this.promptEncoder.densePositionalEncoding();
  }

  /** Loads a checkpoint in either key naming (see weights.ts). */
  static async load(source: TensorSource, config: SamConfig): Promise<SamModel> {
    return new SamModel(config, await loadSamWeights(source, config));
  }

  /** Prompts (model frame) → low-res logits and IoU predictions against one image embedding [1, h, w, C]. */
  decode(imageEmbedding: tf.Tensor4D, prompts: SamPrompts, multimaskOutput: boolean): SamDecoderOutput {
    const { sparse, dense } = this.promptEncoder.forward(prompts);
    const out = this.maskDecoder.forward(imageEmbedding, this.densePe, sparse, dense, multimaskOutput);
    tf.dispose([sparse, dense]);
    return out;
  }

  dispose(): void {
    this.imageEncoder.dispose();
    this.maskDecoder.dispose();
    this.densePe.dispose();
    disposeSamWeights(this.weights);
  }
}

/** A prompt in original-image pixels, as `SamPredictor.predict` takes it. */
export interface SamPointBoxPrompt {
  /** (x, y) pairs in original pixels. */
  pointCoords?: [number, number][];
  pointLabels?: number[];
  /** x1, y1, x2, y2 in original pixels. */
  box?: [number, number, number, number];
  /** [4h·4w] low-res logits of an earlier prediction (row-major). */
  maskInput?: Float32Array;
  multimaskOutput: boolean;
}

export interface SamPredictionTensors {
  /** [M, H, W] logits at the original image size (threshold at config.maskThreshold for binary masks). */
  masks: tf.Tensor3D;
  /** [M] */
  iouPredictions: tf.Tensor1D;
  /** [M, 4h, 4w] */
  lowResLogits: tf.Tensor3D;
}

/** An RGB or RGBA image, 0..255, row-major. */
export interface SamImage {
  pixels: ArrayLike<number>;
  width: number;
  height: number;
  channels: 3 | 4;
}

export class SamPredictor {
  readonly model: SamModel;
  private embedding: tf.Tensor4D | null = null;
  private source: SamImage | null = null;
  /** [H, W] of the original image and of the resized (unpadded) model input. */
  originalSize: [number, number] = [0, 0];
  inputSize: [number, number] = [0, 0];

  constructor(model: SamModel) {
    this.model = model;
  }

  get imgSize(): number {
    return this.model.config.imageEncoder.imgSize;
  }

  /** Encodes an RGB or RGBA image (0..255, row-major) once; prompts then run against the kept embedding. */
  setImage(pixels: ArrayLike<number>, width: number, height: number, channels: 3 | 4): void {
    if (pixels.length !== width * height * channels) {
      throw new DearliError(
        'image-size',
        `the image has ${pixels.length} values, expected ${width}×${height}×${channels}`,
        'Pass the pixel buffer that belongs to the given width and height.',
      );
    }
    const [newH, newW] = resizedShape(height, width, this.imgSize);
    this.setResizedImage(resizeRgbBilinear(pixels, width, height, channels, newW, newH), newW, newH, height, width);
    this.source = { pixels, width, height, channels };
  }

  /** As setImage for an image already resized by ResizeLongestSide (packed RGB, newH×newW). */
  setResizedImage(
    resizedRgb: Uint8Array,
    resizedWidth: number,
    resizedHeight: number,
    originalHeight: number,
    originalWidth: number,
  ): void {
    this.resetImage();
    const input = normalizeAndPad(resizedRgb, resizedWidth, resizedHeight, this.model.config);
    this.embedding = this.model.imageEncoder.forward(input);
    input.dispose();
    this.originalSize = [originalHeight, originalWidth];
    this.inputSize = [resizedHeight, resizedWidth];
  }

  /**
   * Uses an image embedding [1, h, w, C] computed elsewhere (kept from an earlier encode, or random for
   * timing the decoder alone) for an image of the given original and resized [H, W]; the predictor
   * owns it from then on.
   */
  setImageEmbedding(embedding: tf.Tensor4D, originalSize: [number, number], inputSize: [number, number]): void {
    const expected = [
      1,
      ...this.model.config.promptEncoder.imageEmbeddingSize,
      this.model.config.promptEncoder.embedDim,
    ];
    if (embedding.shape.some((d, i) => d !== expected[i])) {
      throw new DearliError(
        'sam-embedding',
        `the embedding is ${embedding.shape.join('×')}, this model needs ${expected.join('×')}`,
        "Pass an embedding made by this model's image encoder.",
      );
    }
    this.resetImage();
    this.embedding = embedding;
    this.originalSize = originalSize;
    this.inputSize = inputSize;
  }

  /**
   * The pixels given to setImage (a reference, not a copy), for callers that crop and re-encode parts
   * of the image (automatic mask generation with crop layers); null after setResizedImage.
   */
  get sourceImage(): SamImage | null {
    return this.source;
  }

  get imageEmbedding(): tf.Tensor4D {
    if (!this.embedding)
      throw new DearliError('sam-no-image', 'no image has been set', 'Call setImage before predicting.');
    return this.embedding;
  }

  /** Original-pixel (x, y) pairs → model frame. */
  toModelCoords(coords: ArrayLike<number>): Float32Array {
    return applyCoords(coords, this.originalSize[0], this.originalSize[1], this.imgSize);
  }

  /** One prompt → masks at the original size, IoU predictions and low-res logits (caller disposes). */
  predict(prompt: SamPointBoxPrompt): SamPredictionTensors {
    const embedding = this.imageEmbedding;
    const prompts: SamPrompts = {};
    const created: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => {
      created.push(t);
      return t;
    };
    if (prompt.pointCoords?.length) {
      const labels = prompt.pointLabels ?? [];
      if (labels.length !== prompt.pointCoords.length)
        throw new DearliError(
          'sam-prompt',
          `${prompt.pointCoords.length} points but ${labels.length} labels`,
          'Give one label per point.',
        );
      prompts.pointCoords = keep(tf.tensor3d(this.toModelCoords(prompt.pointCoords.flat()), [1, labels.length, 2]));
      prompts.pointLabels = keep(tf.tensor2d(labels, [1, labels.length], 'int32'));
    }
    if (prompt.box) prompts.boxes = keep(tf.tensor2d(this.toModelCoords(prompt.box), [1, 4]));
    if (prompt.maskInput) {
      const [h, w] = this.model.config.promptEncoder.imageEmbeddingSize;
      prompts.masks = keep(tf.tensor3d(prompt.maskInput, [1, 4 * h, 4 * w]));
    }
    const { lowResLogits, iouPredictions } = this.model.decode(embedding, prompts, prompt.multimaskOutput);
    tf.dispose(created);
    const result = tf.tidy(() => ({
      masks: postprocessMasks(lowResLogits, this.inputSize, this.originalSize, this.imgSize).squeeze([
        0,
      ]) as tf.Tensor3D,
      iouPredictions: iouPredictions.squeeze([0]) as tf.Tensor1D,
      lowResLogits: lowResLogits.squeeze([0]) as tf.Tensor3D,
    }));
    tf.dispose([lowResLogits, iouPredictions]);
    return result;
  }

  resetImage(): void {
    this.embedding?.dispose();
    this.embedding = null;
    this.source = null;
  }
}

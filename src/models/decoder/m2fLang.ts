/**
 * M2F-Lang: the trainable decoder of DEARLi on top of a frozen CLIP trunk (method-spec §2.2–2.4).
 * Input: trunk features {res2..res5} NHWC; output: class logits over the text classifier's classes
 * (+ void) and stride-4 mask logits for the initial queries and after every decoder layer.
 */
import * as tf from '@tensorflow/tfjs';
import { tidyAll } from '../ops/scope';
import type { TextClassifier } from './classHead';
import type { DecoderConfig } from './config';
import { ParamStore, tableSize, type ParamTable } from './params';
import { declarePixelDecoderParams, pixelDecoder, type TrunkFeatures } from './pixelDecoder';
import { declareTransformerDecoderParams, transformerDecoder, type DecoderPrediction } from './transformerDecoder';

/** Every decoder parameter, as the modules declare them (pixel decoder, then transformer decoder). */
export function decoderParamTable(config: DecoderConfig): ParamTable {
  const t: ParamTable = new Map();
  declarePixelDecoderParams(t, config);
  declareTransformerDecoderParams(t, config);
  return t;
}

export const parameterCount = (config: DecoderConfig): number => tableSize(decoderParamTable(config));

export class M2FLang {
  readonly config: DecoderConfig;
  readonly params: ParamStore;

  constructor(config: DecoderConfig, seed: number) {
    if (config.convDim !== config.hiddenDim)
      throw new Error('M2F-Lang needs convDim == hiddenDim (the decoder input projection is the identity)');
    this.config = config;
    this.params = new ParamStore(decoderParamTable(config), seed);
  }

  /** The family's factory for trained weights (from a checkpoint or a model bundle), by parameter name. */
  static load(parameters: Map<string, Float32Array>, config: DecoderConfig): M2FLang {
    const model = new M2FLang(config, 0);
    try {
      model.params.assign(parameters);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  /** decoderLayers + 1 predictions; the last is the final output, the others feed deep supervision. */
  forward(features: TrunkFeatures, classifier: TextClassifier): DecoderPrediction[] {
    return tidyAll(() => {
      const { multiScale, maskFeatures } = pixelDecoder(this.params, this.config, features);
      return transformerDecoder(this.params, this.config, multiScale, maskFeatures, classifier);
    });
  }

  /** Trainable variables by name, in table order. */
  get variables(): Map<string, tf.Variable> {
    return this.params.vars;
  }

  dispose(): void {
    this.params.dispose();
  }
}

export type { DecoderPrediction, TrunkFeatures };

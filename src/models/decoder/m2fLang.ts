/**
 * M2F-Lang: the trainable decoder of DEARLi on top of a frozen CLIP trunk (method-spec §2.2–2.4).
 * Input: trunk features {res2..res5} NHWC; output: class logits over the text classifier's classes
 * (+ void) and stride-4 mask logits for the initial queries and after every decoder layer.
 */
import * as tf from '@tensorflow/tfjs';
import { tidyAll } from '../ops/scope';
import type { TextClassifier } from './classHead';
import type { DecoderConfig } from './config';
import { ParamStore, decoderParamTable } from './params';
import { pixelDecoder, type TrunkFeatures } from './pixelDecoder';
import { transformerDecoder, type DecoderPrediction } from './transformerDecoder';

export class M2FLang {
  readonly config: DecoderConfig;
  readonly params: ParamStore;

  constructor(config: DecoderConfig, seed: number) {
    if (config.convDim !== config.hiddenDim)
      throw new Error('M2F-Lang needs convDim == hiddenDim (the decoder input projection is the identity)');
    this.config = config;
    this.params = new ParamStore(decoderParamTable(config), seed);
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

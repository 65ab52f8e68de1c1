/**
 * A shared model: `model.safetensors` (decoder weights in upstream naming), `model.json` (the card:
 * everything needed to rebuild and judge the model) and `README.md` (a Hugging Face model card).
 */
import { sha256 } from 'hash-wasm';
import type { DecoderConfig } from '../models/decoder/config';
import { bundleTensorList, exportDecoderWeights, type BundleTensor } from '../models/decoder/bundleWeights';

export const MODEL_CARD_FORMAT = 'dearli-model/1';

export interface CardClass {
  id: number;
  name: string;
  synonyms: string[];
  isthing: boolean;
}

export interface CardStage {
  kind: 'supervised' | 'dewa' | 'meanTeacher';
  iterations: number;
  batch: number;
  /** Mean Teacher: the α in force at the end and every change with the iteration it applied from. */
  alpha?: number;
  alphaHistory?: { iteration: number; alpha: number }[];
}

export interface CardScores {
  dataset: string;
  pq: number;
  sq: number;
  rq: number;
  miou: number;
}

export interface ModelCard {
  format: typeof MODEL_CARD_FORMAT;
  labVersion: string;
  name: string;
  preset: string;
  decoder: DecoderConfig;
  classes: CardClass[];
  clip: { model: string; sha256: string };
  stages: CardStage[];
  validation: CardScores | null;
  weights: { file: 'model.safetensors'; sha256: string; size: number; tensors: BundleTensor[] };
}

export interface ModelBundle {
  card: ModelCard;
  weights: Uint8Array;
  readme: string;
}

export type ModelBundleInput = Omit<ModelCard, 'format' | 'preset' | 'weights'> & {
  /** Decoder parameters under lab names, lab layouts. */
  parameters: Map<string, Float32Array>;
};

export async function buildModelBundle(input: ModelBundleInput): Promise<ModelBundle> {
  const { parameters, ...described } = input;
  const weights = exportDecoderWeights(input.decoder, parameters, { format: 'pt' });
  const card: ModelCard = {
    format: MODEL_CARD_FORMAT,
    ...described,
    preset: input.decoder.preset,
    weights: { file: 'model.safetensors', sha256: await sha256(weights), size: weights.length, tensors: bundleTensorList(input.decoder) },
  };
  return { card, weights, readme: modelCardReadme(card) };
}

const percent = (x: number) => x.toFixed(1);

/** The Hugging Face hub's model card: YAML front matter, then what the model is and how it scores. */
export function modelCardReadme(card: ModelCard): string {
  const stages = card.stages
    .map((s) => `- ${s.kind}: ${s.iterations} iterations, batch ${s.batch}${s.alpha === undefined ? '' : `, α ${s.alpha}`}`)
    .join('\n');
  const scores = card.validation
    ? `| dataset | PQ | SQ | RQ | mIoU |\n|---|---|---|---|---|\n| ${card.validation.dataset} | ${percent(card.validation.pq)} | ${percent(card.validation.sq)} | ${percent(card.validation.rq)} | ${percent(card.validation.miou)} |`
    : 'Not validated.';
  return `---
library_name: safetensors
pipeline_tag: image-segmentation
tags:
- panoptic-segmentation
- semi-supervised
- dearli
- mask2former
---

# ${card.name}

A Mask2Former-style panoptic decoder (M2F-Lang: class logits against CLIP text embeddings) trained
in DEARLi Lab ${card.labVersion}, preset \`${card.preset}\`, on the frozen CLIP image tower
\`${card.clip.model}\`.

## Training
${stages}

## Validation
${scores}

## Classes
${card.classes.map((c) => `${c.name}${c.synonyms.length ? ` (${c.synonyms.join(', ')})` : ''}`).join(', ')}

## Files
- \`model.safetensors\`: decoder weights under the upstream Mask2Former / DEARLi \`state_dict\` names
  (\`sem_seg_head.pixel_decoder.…\`, \`sem_seg_head.predictor.…\`, \`void_embedding.weight\`); load
  into the upstream model with \`strict=False\` (the CLIP backbone is not included).
- \`model.json\`: the card DEARLi Lab reads (decoder config, classes, CLIP model, stages, scores,
  sha256 ${card.weights.sha256} of the weights).
`;
}

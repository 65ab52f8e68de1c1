/**
 * A shared model: `model.safetensors` (decoder weights in upstream naming), `model.json` (the card:
 * everything needed to rebuild and judge the model) and `README.md` (a Hugging Face model card).
 */
import { createSHA256, sha256 } from 'hash-wasm';
import { DearliError } from '../core/errors';
import {
  bundleTensorList,
  exportDecoderWeights,
  importDecoderWeights,
  type BundleTensor,
} from '../models/decoder/bundleWeights';
import { DECODER_PRESETS, type DecoderConfig } from '../models/decoder/config';
import { SafetensorsFile } from '../models/weights/safetensors';
import type { AlphaSource } from '../train/meanTeacherTrainer';
import { parseRemoteClipRequest } from './clipRemote';
import type { RemoteClipRequest } from './modelsApi';

const MODEL_CARD_FORMAT = 'dearli-model/1';

interface CardClass {
  id: number;
  name: string;
  synonyms: string[];
  isthing: boolean;
}

/** One stage of the chain that made the weights, with its recipe. */
export interface CardStage {
  kind: 'supervised' | 'dewa' | 'meanTeacher';
  /** Iterations trained (a paused run's, not the ones planned). */
  iterations: number;
  batch: number;
  cropSize: number;
  learningRate: number;
  /** Mean Teacher: the α in force at the end and every change with the iteration it applied from and who made it. */
  alpha?: number;
  alphaHistory?: { iteration: number; alpha: number; source: AlphaSource }[];
  /** Mean Teacher: the EMA decay γ, constant when started from DeWa weights, ramped up from scratch. */
  emaDecay?: number;
  startedFrom?: 'dewa' | 'scratch';
}

interface CardScoreFigures {
  pq: number;
  sq: number;
  rq: number;
  miou: number;
}

/** Percent, as the lab displays them; `ensembled`: the same validation with the test-time ensemble with CLIP at α. */
interface CardScores extends CardScoreFigures {
  dataset: string;
  images?: number;
  ensembled?: CardScoreFigures & { alpha: number };
}

export interface ModelCard {
  format: typeof MODEL_CARD_FORMAT;
  labVersion: string;
  name: string;
  preset: string;
  decoder: DecoderConfig;
  classes: CardClass[];
  /** The frozen CLIP the decoder ran on; `source` (absent for a dropped file or the offline stand-in) fetches it again. */
  clip: { model: string; sha256: string; source?: RemoteClipRequest };
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
    weights: {
      file: 'model.safetensors',
      sha256: await sha256(weights),
      size: weights.length,
      tensors: bundleTensorList(input.decoder),
    },
  };
  return { card, weights, readme: modelCardReadme(card) };
}

const percent = (x: number) => x.toFixed(1);

/** The Hugging Face hub's model card: YAML front matter, then what the model is and how it scores. */
function modelCardReadme(card: ModelCard): string {
  const stages = card.stages
    .map(
      (s) =>
        `- ${s.kind}: ${s.iterations} iterations, batch ${s.batch}${s.alpha === undefined ? '' : `, α ${s.alpha}`}`,
    )
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

/** A card larger than this is no card (a real one is a few kB). */
export const MAX_CARD_BYTES = 1 << 20;

export interface BundleSource {
  /** model.json as uploaded or dropped, and where it came from (a URL or a file name) for messages. */
  cardText: string;
  cardFrom: string;
  weights: Blob;
  weightsFrom: string;
  /** From the share link: the card must have exactly this sha256. */
  expectedCardSha256?: string;
  /** This lab's version: a card from a newer lab is refused. */
  labVersion: string;
}

/** sha256 of a Blob, read in slices so a large file is never one buffer. */
async function blobSha256(blob: Blob): Promise<string> {
  const hasher = await createSHA256();
  const slice = 8 << 20;
  for (let at = 0; at < blob.size; at += slice)
    hasher.update(new Uint8Array(await blob.slice(at, at + slice).arrayBuffer()));
  return hasher.digest('hex');
}

function versionParts(v: string): number[] {
  return v.split(/[.+-]/, 3).map((x) => Number.parseInt(x, 10) || 0);
}

function isNewer(card: string, lab: string): boolean {
  const [a, b] = [versionParts(card), versionParts(lab)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return false;
}

/** Verifies a card (size, JSON, the link's sha256, format, lab version, preset, CLIP) before any weight is fetched. */
export async function checkModelCard(source: Omit<BundleSource, 'weights' | 'weightsFrom'>): Promise<ModelCard> {
  const { cardFrom } = source;
  if (source.cardText.length > MAX_CARD_BYTES) {
    throw new DearliError(
      'bundle-card',
      `model.json is ${source.cardText.length} bytes (a card is at most ${MAX_CARD_BYTES})`,
      'Check that the link points at a DEARLi Lab model.json.',
      cardFrom,
    );
  }
  // JSON first: for a web page where the card should be, "not JSON" says more than a sha256 mismatch.
  let card: ModelCard;
  try {
    card = JSON.parse(source.cardText) as ModelCard;
  } catch (e) {
    throw new DearliError(
      'bundle-card',
      `model.json is not JSON (${(e as Error).message})`,
      'Check that the link points at a DEARLi Lab model.json, not a web page.',
      cardFrom,
    );
  }
  if (source.expectedCardSha256 && (await sha256(source.cardText)) !== source.expectedCardSha256) {
    throw new DearliError(
      'bundle-sha256',
      'model.json does not have the sha256 the link carries: it was changed after the link was made',
      'Ask for a new link, or open the model from its files.',
      cardFrom,
    );
  }
  if (card?.format !== MODEL_CARD_FORMAT) {
    throw new DearliError(
      'bundle-card',
      `this is not a DEARLi Lab model card (format ${JSON.stringify(card?.format)})`,
      `Open a model.json with format "${MODEL_CARD_FORMAT}".`,
      cardFrom,
    );
  }
  if (typeof card.labVersion !== 'string' || isNewer(card.labVersion, source.labVersion)) {
    throw new DearliError(
      'bundle-version',
      `the model was made by DEARLi Lab ${card.labVersion}, newer than this lab (${source.labVersion})`,
      'Open it in an up-to-date lab.',
      cardFrom,
    );
  }
  if (!(card.preset in DECODER_PRESETS) || card.decoder?.preset !== card.preset) {
    throw new DearliError(
      'bundle-preset',
      `the decoder preset "${card.preset}" is not one this lab knows (${Object.keys(DECODER_PRESETS).join(', ')})`,
      'Open it in the lab version that made it.',
      cardFrom,
    );
  }
  if (typeof card.clip?.model !== 'string' || !/^[0-9a-f]{64}$/.test(card.clip.sha256 ?? '')) {
    throw new DearliError(
      'bundle-card',
      'the card names no CLIP model with a sha256',
      'Check that model.json is the one the lab exported.',
      cardFrom,
    );
  }
  if (card.clip.source !== undefined) card.clip.source = parseRemoteClipRequest(card.clip.source, cardFrom);
  return card;
}

/** Verifies a bundle (the card as checkModelCard does, then the weights' size and sha256 and every tensor) and reads its weights. */
export async function readModelBundle(
  source: BundleSource,
): Promise<{ card: ModelCard; parameters: Map<string, Float32Array> }> {
  const card = await checkModelCard(source);
  const { weightsFrom } = source;
  const expected = card.weights;
  if (source.weights.size !== expected?.size) {
    throw new DearliError(
      'bundle-weights-sha256',
      `the weights are ${source.weights.size} bytes, the card says ${expected?.size}`,
      'The download was cut or the file is another one: fetch it again.',
      weightsFrom,
    );
  }
  if ((await blobSha256(source.weights)) !== expected.sha256) {
    throw new DearliError(
      'bundle-weights-sha256',
      'the weights do not have the sha256 the card records: the file was changed',
      'Fetch the original model.safetensors, or ask its author for a new link.',
      weightsFrom,
    );
  }
  const file = await SafetensorsFile.open(source.weights, weightsFrom);
  return { card, parameters: await importDecoderWeights(card.decoder, file) };
}

/**
 * Loading a CLIP model in the worker: its config (preset, open_clip_config.json or a fixture-style
 * config.json), its tokenizer files, its weights in either naming, and the model card.
 */
import { DearliError } from '../core/errors';
import { ClipModel } from '../models/clip/clip';
import {
  CLIP_PRESETS,
  clipConfigFromFixture,
  clipConfigFromOpenClip,
  type ClipConfig,
  type ClipFixtureConfig,
  type OpenClipModelConfig,
} from '../models/clip/config';
import { ClipTokenizer } from '../models/clip/tokenizer';
import type { ClipWeightNaming } from '../models/clip/weights';
import { listHubFiles } from '../models/weights/hub';
import type { TensorSource } from '../models/weights/tensorSource';
import {
  modelCard,
  openModelWeights,
  parameterCount,
  siblingSource,
  type ModelFile,
  type ProgressSink,
} from './modelFiles';
import type { FileSource, ModelCard } from './modelsApi';

/** The CLIP text files a hub repo may hold, in the order tried. */
const HUB_TOKENIZER_FILES: readonly (readonly string[])[] = [
  ['vocab.json', 'merges.txt'],
  ['tokenizer.json'],
  ['bpe_simple_vocab_16e6.txt.gz'],
];

export interface LoadedClip {
  model: ClipModel;
  tokenizer: ClipTokenizer | null;
  card: ModelCard;
}

// --- Config and tokenizer files -----------------------------------------------------------------

/** open_clip_config.json ({model_cfg}), a bare open_clip model config, or the fixtures' config.json. */
export function clipConfigFromJson(json: unknown, file: string, fallbackName: string): ClipConfig {
  const obj = (json ?? {}) as Record<string, unknown>;
  if ('open_clip_model_config' in obj) return clipConfigFromFixture(obj as unknown as ClipFixtureConfig, file);
  if ('model_cfg' in obj) return clipConfigFromOpenClip(obj.model_cfg as OpenClipModelConfig, fallbackName, file);
  if ('vision_cfg' in obj) return clipConfigFromOpenClip(obj as unknown as OpenClipModelConfig, fallbackName, file);
  throw new DearliError(
    'clip-config',
    'the file is not an open_clip config (no model_cfg, vision_cfg or open_clip_model_config)',
    'Give open_clip_config.json from the model repository, or choose a preset.',
    file,
  );
}

export function presetConfig(name: string): ClipConfig {
  const preset = CLIP_PRESETS[name];
  if (!preset)
    throw new DearliError(
      'clip-config',
      `"${name}" is not a CLIP preset (known: ${Object.keys(CLIP_PRESETS).join(', ')})`,
      'Choose one of the listed presets.',
    );
  return preset;
}

export async function tokenizerSources(source: FileSource, signal: AbortSignal): Promise<FileSource[]> {
  if (source.kind === 'hub' && !source.file) {
    const files = await listHubFiles(source.repo, { revision: source.revision, signal });
    const set = HUB_TOKENIZER_FILES.find((names) => names.every((n) => files.includes(n)));
    if (!set) {
      throw new DearliError(
        'tokenizer-missing',
        'the repository has no CLIP tokenizer files (vocab.json + merges.txt, tokenizer.json or bpe_simple_vocab_16e6.txt.gz)',
        'Name a CLIP repository such as laion/CLIP-ViT-B-32-laion2B-s34B-b79K.',
        source.repo,
      );
    }
    return set.map((file) => ({ kind: 'hub', repo: source.repo, file, revision: source.revision }));
  }
  const name =
    source.kind === 'file'
      ? source.file.name
      : source.kind === 'url'
        ? new URL(source.url).pathname
        : (source.file ?? '');
  // vocab.json alone is half a tokenizer: its merges sit next to it.
  return name.endsWith('vocab.json') && source.kind !== 'file'
    ? [source, siblingSource(source, 'merges.txt')]
    : [source];
}

async function buildTokenizer(files: ModelFile[]): Promise<ClipTokenizer> {
  const byName = (suffix: string) => files.find((f) => f.name.endsWith(suffix));
  const vocab = byName('vocab.json');
  const merges = byName('merges.txt');
  if (vocab && merges)
    return ClipTokenizer.fromHfFiles({ vocabJson: await vocab.blob.text(), mergesTxt: await merges.blob.text() });
  const json = byName('.json');
  if (json) return ClipTokenizer.fromHfFiles({ tokenizerJson: await json.blob.text() });
  const bpe = files[0];
  return ClipTokenizer.fromBpeGz(new Uint8Array(await bpe.blob.arrayBuffer()), bpe.name);
}

// --- Building the model -----------------------------------------------------------------------------

function clipNaming(source: TensorSource): ClipWeightNaming {
  return source.has('visual.trunk.stem.0.weight') || !source.has('stem.0.weight') ? 'open_clip' : 'timm';
}

export async function buildClip(
  config: ClipConfig,
  weights: ModelFile,
  tokenizerFiles: ModelFile[],
  onProgress: ProgressSink,
  signal: AbortSignal,
): Promise<LoadedClip> {
  const source = await openModelWeights(weights, onProgress);
  const naming = clipNaming(source);
  const tokenizer = tokenizerFiles.length > 0 ? await buildTokenizer(tokenizerFiles) : null;
  if (tokenizer && tokenizer.vocabSize > config.text.vocabSize) {
    throw new DearliError(
      'tokenizer-mismatch',
      `the tokenizer has ${tokenizer.vocabSize} tokens, the text tower only ${config.text.vocabSize}`,
      'Use the CLIP vocabulary that belongs to these weights.',
      tokenizerFiles[0].name,
    );
  }
  const towers = naming === 'open_clip' && tokenizer ? 'all' : 'image';
  signal.throwIfAborted();
  const model = await ClipModel.load(source, config, { naming, towers });
  const details = [
    `${naming} naming`,
    towers === 'all' ? 'image + text towers' : 'image tower only',
    `embedding ${config.embedDim}`,
  ];
  if (tokenizer)
    details.push(`tokenizer ${tokenizer.vocabSize} tokens (${tokenizerFiles.map((f) => f.name).join(' + ')})`);
  return { model, tokenizer, card: modelCard('clip', config.name, weights, parameterCount(source), details) };
}

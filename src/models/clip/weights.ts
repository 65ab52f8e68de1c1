/**
 * The one name mapping from checkpoints to ClipWeights, for both namings of the image tower:
 * - 'open_clip': open_clip `CLIP.state_dict()` (visual.trunk.*, visual.head.*, token_embedding.weight, …)
 * - 'timm': timm's `checkpoint_filter_fn` of the same tower (hub timm/convnext_base.clip_*):
 *   visual.trunk.X → X, the projection → head.fc (with a bias, zeros in those checkpoints),
 *   the `_d` MLP's first layer → head.pre_logits.fc. timm checkpoints have no text tower.
 *
 * PyTorch layouts become tfjs layouts on the CPU before upload: conv OIHW → HWIO, depthwise
 * [C, 1, k, k] → [k, k, C, 1], Linear [out, in] → [in, out]. The token embedding is never uploaded.
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../../core/errors';
import { Rng } from '../../core/rng';
import type { TensorListing, TensorSource } from '../weights/tensorSource';
import type { ClipWeights } from './clip';
import type { ClipConfig, ConvNextConfig } from './config';
import { ConvNextTrunk, type ConvNextTrunkWeights } from './convnext';
import type { ClipImageHeadWeights } from './head';
import { collectTensors, type ConvWeights, type LayerNormWeights, type LinearWeights } from './layers';
import type { ClipTextWeights } from './textTransformer';
import { tfjsToTorch, torchToTfjs } from '../weights/layout';

/** One tensor as read from any checkpoint reader, float32, PyTorch layout. */
export type ClipWeightNaming = 'open_clip' | 'timm';

export interface LoadClipOptions {
  naming?: ClipWeightNaming;
  /** 'image' loads the image tower only; text tensors in an open_clip checkpoint are then skipped, not errors. */
  towers?: 'all' | 'image';
}

/** How a PyTorch tensor becomes a tfjs one. */
type Layout = 'conv' | 'depthwise' | 'linear' | 'asIs' | 'host' | 'scalar';
/** How `createRandom*` fills it (roughly the fixtures' re-randomisation, so activations stay finite). */
type Init = 'fanIn' | 'bias' | 'normWeight' | 'normBias' | 'layerScale' | 'embedding' | 'logitScale' | 'zeros';

export interface ClipWeightSpec {
  name: string;
  /** PyTorch shape. */
  shape: number[];
  layout: Layout;
  init: Init;
  tower: 'image' | 'text';
}

type Take = (spec: ClipWeightSpec) => unknown;

/**
 * The mapping itself. Called twice per load: first with a recorder to list what the checkpoint must
 * hold, then with the uploaded tensors to assemble the weight objects.
 */
function mapClipWeights(
  config: ClipConfig,
  naming: ClipWeightNaming,
  towers: 'all' | 'image',
  take: Take,
): ClipWeights {
  const image = (name: string, shape: number[], layout: Layout, init: Init) =>
    take({ name, shape, layout, init, tower: 'image' });
  const text = (name: string, shape: number[], layout: Layout, init: Init) =>
    take({ name, shape, layout, init, tower: 'text' });
  const trunkPrefix = naming === 'open_clip' ? 'visual.trunk.' : '';
  const { trunk: t, embedDim } = config;

  const norm = (tower: typeof image, prefix: string, c: number): LayerNormWeights => ({
    weight: tower(`${prefix}.weight`, [c], 'asIs', 'normWeight') as tf.Tensor1D,
    bias: tower(`${prefix}.bias`, [c], 'asIs', 'normBias') as tf.Tensor1D,
  });
  const lin = (
    tower: typeof image,
    prefix: string,
    inDim: number,
    outDim: number,
    withBias = true,
    biasInit: Init = 'bias',
  ): LinearWeights => ({
    weight: tower(`${prefix}.weight`, [outDim, inDim], 'linear', 'fanIn') as tf.Tensor2D,
    bias: withBias ? (tower(`${prefix}.bias`, [outDim], 'asIs', biasInit) as tf.Tensor1D) : undefined,
  });
  const conv = (prefix: string, inDim: number, outDim: number, k: number): ConvWeights => ({
    kernel: image(`${prefix}.weight`, [outDim, inDim, k, k], 'conv', 'fanIn') as tf.Tensor4D,
    bias: image(`${prefix}.bias`, [outDim], 'asIs', 'bias') as tf.Tensor1D,
  });

  const trunk: ConvNextTrunkWeights = {
    stem: {
      conv: conv(`${trunkPrefix}stem.0`, 3, t.dims[0], t.stemPatch),
      norm: norm(image, `${trunkPrefix}stem.1`, t.dims[0]),
    },
    stages: t.dims.map((c, s) => {
      const p = `${trunkPrefix}stages.${s}`;
      return {
        downsample:
          s === 0
            ? undefined
            : {
                norm: norm(image, `${p}.downsample.0`, t.dims[s - 1]),
                conv: conv(`${p}.downsample.1`, t.dims[s - 1], c, 2),
              },
        blocks: Array.from({ length: t.depths[s] }, (_, b) => {
          const bp = `${p}.blocks.${b}`;
          return {
            dwConv: {
              kernel: image(
                `${bp}.conv_dw.weight`,
                [c, 1, t.kernelSize, t.kernelSize],
                'depthwise',
                'fanIn',
              ) as tf.Tensor4D,
              bias: image(`${bp}.conv_dw.bias`, [c], 'asIs', 'bias') as tf.Tensor1D,
            },
            norm: norm(image, `${bp}.norm`, c),
            fc1: lin(image, `${bp}.mlp.fc1`, c, c * t.mlpRatio),
            fc2: lin(image, `${bp}.mlp.fc2`, c * t.mlpRatio, c),
            gamma: image(`${bp}.gamma`, [c], 'asIs', 'layerScale') as tf.Tensor1D,
          };
        }),
      };
    }),
  };

  const features = t.dims[t.dims.length - 1];
  const { kind, bias: projBias } = config.projection;
  // timm heads always have a bias on the last layer; timm's filter fills it with zeros.
  const lastBias = naming === 'timm' || projBias;
  const lastBiasInit: Init = naming === 'timm' && !projBias ? 'zeros' : 'bias';
  const imageHead: ClipImageHeadWeights = {
    norm: norm(image, `${trunkPrefix}head.norm`, features),
    projection:
      kind === 'linear'
        ? {
            kind,
            proj: lin(
              image,
              naming === 'open_clip' ? 'visual.head.proj' : 'head.fc',
              features,
              embedDim,
              lastBias,
              lastBiasInit,
            ),
          }
        : {
            kind,
            fc1: lin(
              image,
              naming === 'open_clip' ? 'visual.head.mlp.fc1' : 'head.pre_logits.fc',
              features,
              2 * embedDim,
            ),
            fc2: lin(
              image,
              naming === 'open_clip' ? 'visual.head.mlp.fc2' : 'head.fc',
              2 * embedDim,
              embedDim,
              lastBias,
              lastBiasInit,
            ),
          },
  };
  if (naming === 'timm' || towers === 'image') return { trunk, imageHead };

  const x = config.text;
  const w = x.width;
  const textWeights: ClipTextWeights = {
    tokenEmbedding: text('token_embedding.weight', [x.vocabSize, w], 'host', 'embedding') as Float32Array,
    positionalEmbedding: text('positional_embedding', [x.contextLength, w], 'asIs', 'embedding') as tf.Tensor2D,
    blocks: Array.from({ length: x.layers }, (_, i) => {
      const p = `transformer.resblocks.${i}`;
      return {
        ln1: norm(text, `${p}.ln_1`, w),
        qkv: {
          weight: text(`${p}.attn.in_proj_weight`, [3 * w, w], 'linear', 'fanIn') as tf.Tensor2D,
          bias: text(`${p}.attn.in_proj_bias`, [3 * w], 'asIs', 'bias') as tf.Tensor1D,
        },
        out: lin(text, `${p}.attn.out_proj`, w, w),
        ln2: norm(text, `${p}.ln_2`, w),
        fc: lin(text, `${p}.mlp.c_fc`, w, w * x.mlpRatio),
        proj: lin(text, `${p}.mlp.c_proj`, w * x.mlpRatio, w),
      };
    }),
    lnFinal: norm(text, 'ln_final', w),
    textProjection: text('text_projection', [w, embedDim], 'asIs', 'fanIn') as tf.Tensor2D,
  };
  const logitScale = text('logit_scale', [], 'scalar', 'logitScale') as number;
  return { trunk, imageHead, text: textWeights, logitScale };
}

/** The tensors a checkpoint of this config must hold, in mapping order. */
export function clipWeightSpecs(
  config: ClipConfig,
  naming: ClipWeightNaming = 'open_clip',
  towers: 'all' | 'image' = 'all',
): ClipWeightSpec[] {
  const specs: ClipWeightSpec[] = [];
  mapClipWeights(config, naming, towers, (spec) => specs.push(spec));
  return specs;
}

function weightsError(source: Pick<TensorSource, 'fileName'>, problem: string, fix: string): never {
  throw new DearliError('weights-mismatch', problem, fix, source.fileName);
}

/** A loaded value back in PyTorch layout (host and scalar values are stored as they are). */
function torchLayout(spec: ClipWeightSpec, data: Float32Array): Float32Array {
  if (spec.layout === 'host' || spec.layout === 'scalar') return data;
  return tfjsToTorch(spec.layout === 'asIs' ? 'keep' : spec.layout, spec.shape, data);
}

/**
 * The inverse of loadClipWeights: every tensor of `weights` under its open_clip name, in PyTorch
 * layout (what a checkpoint writer needs). Reads tensors with dataSync: for
 * export, not for loops.
 */
export function clipStateDict(
  config: ClipConfig,
  weights: ClipWeights,
): Map<string, { shape: readonly number[]; data: Float32Array }> {
  const towers = weights.text ? 'all' : 'image';
  // The mapping run with specs as leaves has the shape of `weights`: walking both pairs names with values.
  const specTree = mapClipWeights(config, 'open_clip', towers, (spec) => spec);
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  const walk = (specs: unknown, values: unknown): void => {
    if (specs === null || typeof specs !== 'object') return;
    const spec = specs as ClipWeightSpec;
    if (typeof spec.name === 'string' && Array.isArray(spec.shape)) {
      const data =
        typeof values === 'number'
          ? Float32Array.of(values)
          : values instanceof Float32Array
            ? values
            : ((values as tf.Tensor).dataSync() as Float32Array);
      out.set(spec.name, { shape: spec.shape, data: torchLayout(spec, data) });
      return;
    }
    for (const key of Object.keys(specs as object))
      walk((specs as Record<string, unknown>)[key], (values as Record<string, unknown>)[key]);
  };
  walk(specTree, weights);
  return out;
}

/**
 * The tensors a checkpoint must provide, in mapping order, checked from its listing before anything
 * is read: missing and unexpected tensors (all of them, by name), then the first tensor whose stored
 * shape differs.
 */
export function planClipWeights(
  config: ClipConfig,
  source: TensorListing,
  options: LoadClipOptions = {},
): ClipWeightSpec[] {
  const naming = options.naming ?? 'open_clip';
  const towers = naming === 'timm' ? 'image' : (options.towers ?? 'all');
  const wanted = clipWeightSpecs(config, naming, towers);
  const available = new Set(source.names);
  const missing = wanted.filter((s) => !available.has(s.name)).map((s) => s.name);
  if (missing.length > 0) {
    weightsError(
      source,
      `${missing.length} tensor(s) of ${config.name} (${naming} naming) are missing: ${listNames(missing)}`,
      'Check that the checkpoint belongs to the chosen model and naming.',
    );
  }
  // Text tensors of a full open_clip checkpoint are expected even when only the image tower is loaded.
  const known = new Set(clipWeightSpecs(config, naming, naming === 'timm' ? 'image' : 'all').map((s) => s.name));
  const extra = source.names.filter((n) => !known.has(n));
  if (extra.length > 0) {
    weightsError(
      source,
      `${extra.length} tensor(s) are not part of ${config.name} (${naming} naming): ${listNames(extra)}`,
      'The checkpoint is for another architecture or configuration: choose the matching model.',
    );
  }
  for (const spec of wanted) checkClipShape(config, source, spec, source.shape(spec.name));
  return wanted;
}

function checkClipShape(
  config: ClipConfig,
  source: Pick<TensorListing, 'fileName'>,
  spec: ClipWeightSpec,
  shape: readonly number[],
): void {
  const sameShape = shape.length === spec.shape.length && shape.every((d, i) => d === spec.shape[i]);
  if (!sameShape) {
    weightsError(
      source,
      `tensor "${spec.name}" has shape [${shape.join(', ')}], ${config.name} needs [${spec.shape.join(', ')}]`,
      'The checkpoint is for another configuration: choose the matching model.',
    );
  }
}

/**
 * Loads CLIP weights from any source: the listing is checked first (planClipWeights), then each
 * tensor again as it is read.
 */
export async function loadClipWeights(
  config: ClipConfig,
  source: TensorSource,
  options: LoadClipOptions = {},
): Promise<ClipWeights> {
  const naming = options.naming ?? 'open_clip';
  const towers = naming === 'timm' ? 'image' : (options.towers ?? 'all');
  const wanted = planClipWeights(config, source, options);
  const loaded = new Map<string, tf.Tensor | Float32Array | number>();
  try {
    for (const spec of wanted) {
      const t = await source.read(spec.name);
      if (!(t.data instanceof Float32Array)) {
        throw new DearliError(
          'weights-format',
          `tensor "${spec.name}" is ${t.dtype}, CLIP weights must be floating point`,
          'Export the checkpoint with float weights.',
          source.fileName,
        );
      }
      checkClipShape(config, source, spec, t.shape);
      if (spec.layout === 'scalar') loaded.set(spec.name, t.data[0]);
      else if (spec.layout === 'host') loaded.set(spec.name, t.data);
      else {
        const converted = torchToTfjs(spec.layout === 'asIs' ? 'keep' : spec.layout, spec.shape, t.data);
        loaded.set(spec.name, tf.tensor(converted.data, converted.shape, 'float32'));
      }
    }
  } catch (e) {
    tf.dispose([...loaded.values()].filter((v): v is tf.Tensor => v instanceof tf.Tensor));
    throw e;
  }
  return mapClipWeights(config, naming, towers, (spec) => loaded.get(spec.name));
}

function listNames(names: string[]): string {
  const shown = names
    .slice(0, 8)
    .map((n) => `"${n}"`)
    .join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}

function randomData(spec: ClipWeightSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  // fan_in of a PyTorch weight = every dimension but the first (out channels / out features).
  const fanIn = spec.shape.slice(1).reduce((a, d) => a * d, 1);
  const [mean, std] = {
    fanIn: [0, 1 / Math.sqrt(fanIn)],
    bias: [0, 0.1],
    normWeight: [1, 0.1],
    normBias: [0, 0.1],
    layerScale: [0, 0.1],
    embedding: [0, 0.1],
    logitScale: [Math.log(1 / 0.07), 0],
    zeros: [0, 0],
  }[spec.init];
  for (let i = 0; i < n; i++) out[i] = std === 0 ? mean : mean + std * rng.normal();
  return out;
}

/** Seeded random weights in open_clip naming, as a source: tests and benchmarks go through the real loader. */
export function randomClipSource(config: ClipConfig, seed: number, towers: 'all' | 'image' = 'all'): TensorSource {
  const specs = new Map(clipWeightSpecs(config, 'open_clip', towers).map((s) => [s.name, s]));
  const rng = new Rng(seed);
  return {
    fileName: `random weights (seed ${seed})`,
    names: [...specs.keys()],
    has: (name) => specs.has(name),
    shape: (name) => specs.get(name)?.shape ?? [],
    // Deterministic as long as tensors are read in mapping order, which loadClipWeights does.
    read: async (name) => {
      const spec = specs.get(name);
      if (!spec) throw new RangeError(`no random tensor "${name}"`);
      return { dtype: 'F32', shape: spec.shape, data: randomData(spec, rng) };
    },
  };
}

/** Seeded random CLIP weights for a config (benchmarks, other modules' tests). */
export function createRandomClipWeights(
  config: ClipConfig,
  seed: number,
  towers: 'all' | 'image' = 'all',
): Promise<ClipWeights> {
  return loadClipWeights(config, randomClipSource(config, seed, towers), { towers });
}

/** A ConvNeXt trunk alone with seeded random weights (e.g. tiny trunks for decoder tests). */
export async function createRandomConvNextTrunk(trunk: ConvNextConfig, seed: number): Promise<ConvNextTrunk> {
  const config: ClipConfig = {
    name: 'random-convnext',
    embedDim: 1,
    imageSize: trunk.stemPatch * 8,
    trunk,
    projection: { kind: 'linear', bias: false },
    text: { contextLength: 1, vocabSize: 1, width: 1, heads: 1, layers: 0, mlpRatio: 1, eps: 1e-5 },
  };
  const weights = await createRandomClipWeights(config, seed, 'image');
  tf.dispose(collectTensors(weights.imageHead));
  return new ConvNextTrunk(trunk, weights.trunk);
}

/**
 * Numerical parity at full size: the same seeded random weights feed onnxruntime-node (CPU EP) on the
 * onnx-bench graphs (the upstream PyTorch forward, exported and checked against it) and our tfjs ports,
 * loaded through the real loaders from the graphs' upstream state_dict names.
 *
 * Cases: ConvNeXt-B CLIP (convnext_base_w_320) res5 and embedding at 320 (and res5 at 640), the SlimSAM-77
 * and SAM ViT-B image embeddings at 1024, the SAM decoder's 64×3 low-res masks and IoU predictions.
 *
 * Random weights are drawn so that activations stay in the range of trained networks, else the
 * comparison says little (a residual branch scaled to nothing is never compared; saturated softmaxes
 * hide attention errors):
 * - conv / linear weights: N(0, 1/fan_in) truncated at 2σ (fan_in = every dim but the first, PyTorch
 *   layout), so each layer keeps its input's scale, as trained layers roughly do; with timm's
 *   trunc-normal std 0.02 the SAM attention logits would be ~0.01 (uniform attention) at width 768.
 * - ConvNeXt LayerScale gammas: log-uniform on [1e-6, 1e-1] per channel, the spread of real
 *   convnext_base checkpoints (init 1e-6; trained values mostly 1e-3..1e-1), so blocks contribute
 *   from almost nothing to a tenth of the residual stream.
 * - LayerNorm weights 1 + N(0, 0.1²), every bias N(0, 0.02²).
 * - SAM pos_embed and rel_pos tables N(0, 0.1²): the rel-pos bias on the attention logits is then of
 *   order 1, as in trained SAM.
 * - Embedding tables (point / not-a-point / no-mask embeddings, IoU and mask tokens) and the SAM
 *   Fourier-feature matrix N(0, 1), as nn.Embedding and segment-anything initialise them.
 * Inputs: normalised images N(0, 1); the decoder gets an image embedding N(0, 1) (the encoder's last
 * LayerNorm makes real ones about that) and 64 one-point prompts uniform on [0, 1024)², labels
 * 44 × foreground, 16 × background, 4 × ignore.
 *
 * Error: per output, max|ours − ort| / max|ort| (max abs error over the reference's largest magnitude:
 * robust where elementwise relative errors blow up near zero). Pass: ≤ 1e-3.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import '../src/models/ops/cpuKernels';
import { Rng } from '../src/core/rng';
import { CONVNEXT_BASE_W_320 } from '../src/models/clip/config';
import { ClipModel } from '../src/models/clip/clip';
import { loadClipWeights } from '../src/models/clip/weights';
import { samPreset, type SamPresetName } from '../src/models/sam/config';
import { SamModel } from '../src/models/sam/sam';
import { samParameterShapes } from '../src/models/sam/weights';
import type { TensorSource } from '../src/models/weights/tensorSource';
import {
  graphWeights,
  onnxBenchModelPath,
  readOnnxBenchGraph,
  type OnnxBenchGraph,
  type OnnxBenchGraphName,
} from '../test/onnxBench';

export const PARITY_CASES = ['clip320', 'slimsam', 'decoder', 'samVitB', 'clip640'] as const;
export type ParityCase = (typeof PARITY_CASES)[number];
export const MAX_REL_ERROR = 1e-3;

export interface OutputParity {
  case: ParityCase;
  output: string;
  shape: number[];
  maxAbsError: number;
  maxAbsReference: number;
  /** max|ours − ort| / max|ort| */
  relError: number;
  pass: boolean;
}

export interface CaseTiming {
  case: ParityCase;
  ortMs: number;
  tfjsMs: number;
}

export interface ParityReport {
  seed: number;
  backend: string;
  maxRelError: number;
  outputs: OutputParity[];
  timings: CaseTiming[];
  loadMs: Record<string, number>;
}

/** FNV-1a: a tensor's values depend on the seed and its name only, so every graph sharing a weight gets the same one. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** One upstream weight (PyTorch layout), drawn as the header explains. */
export function realisticWeight(name: string, shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  const rng = new Rng((seed ^ nameHash(name)) >>> 0);
  const normal = (mean: number, std: number) => {
    for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
    return out;
  };
  if (/\.gamma$/.test(name)) {
    for (let i = 0; i < n; i++) out[i] = 10 ** rng.uniform(-6, -1);
    return out;
  }
  if (/point_embeddings|not_a_point_embed|no_mask_embed|iou_token|mask_tokens|gaussian_matrix/.test(name))
    return normal(0, 1);
  if (/pos_embed$|rel_pos_[hw]$/.test(name)) return normal(0, 0.1);
  if (name.endsWith('bias')) return normal(0, 0.02);
  if (shape.length === 1) return normal(1, 0.1);
  const std = 1 / Math.sqrt(shape.slice(1).reduce((a, d) => a * d, 1));
  for (let i = 0; i < n; i++) {
    let z = rng.normal();
    while (Math.abs(z) > 2) z = rng.normal();
    out[i] = std * z;
  }
  return out;
}

/** Every weight any case needs, drawn once: ORT and tfjs read the same arrays. */
class WeightPool {
  private readonly arrays = new Map<string, Float32Array>();
  constructor(readonly seed: number) {}
  get(name: string, shape: readonly number[]): Float32Array {
    let a = this.arrays.get(name);
    if (!a) {
      a = realisticWeight(name, shape, this.seed);
      this.arrays.set(name, a);
    }
    return a;
  }
}

function randomNormal(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function runOrt(
  graphName: OnnxBenchGraphName,
  graph: OnnxBenchGraph,
  pool: WeightPool,
  data: Record<string, Float32Array>,
): Promise<{ outputs: Record<string, Float32Array>; ms: number }> {
  const session = await ort.InferenceSession.create(onnxBenchModelPath(graphName), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of graph.inputs) {
      const values = input.kind === 'weight' ? pool.get(input.name, input.shape) : data[input.name];
      if (!values) throw new Error(`${graphName}: no data for input "${input.name}"`);
      feeds[input.name] = new ort.Tensor('float32', values, input.shape);
    }
    const start = performance.now();
    const result = await session.run(feeds);
    const ms = performance.now() - start;
    const outputs: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(result)) outputs[name] = t.data as Float32Array;
    return { outputs, ms };
  } finally {
    await session.release();
  }
}

function compare(c: ParityCase, output: string, shape: number[], ours: Float32Array, ref: Float32Array): OutputParity {
  if (ours.length !== ref.length)
    throw new Error(`${c} ${output}: ${ours.length} values from tfjs, ${ref.length} from ORT`);
  let maxAbsError = 0;
  let maxAbsReference = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    maxAbsError = Number.isNaN(d) ? Infinity : Math.max(maxAbsError, d);
    maxAbsReference = Math.max(maxAbsReference, Math.abs(ref[i]));
  }
  const relError = maxAbsError / maxAbsReference;
  return { case: c, output, shape, maxAbsError, maxAbsReference, relError, pass: relError <= MAX_REL_ERROR };
}

/** NHWC tfjs tensor → NCHW values (the graphs' layout); disposes the tensor. */
function toNchw(t: tf.Tensor4D): Float32Array {
  const out = tf.tidy(() => tf.transpose(t, [0, 3, 1, 2]).dataSync() as Float32Array);
  t.dispose();
  return out;
}

function nchwToNhwc(values: Float32Array, shape: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(values, shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** Seeded random tensors under the names and shapes a graph lists, as any checkpoint reader would give them. */
function randomSource(fileName: string, shapes: Map<string, number[]>, pool: WeightPool): TensorSource {
  return {
    fileName,
    names: [...shapes.keys()],
    has: (name) => shapes.has(name),
    shape: (name) => shapes.get(name)!,
    read: async (name) => ({ dtype: 'F32', shape: shapes.get(name)!, data: pool.get(name, shapes.get(name)!) }),
  };
}

function clipSource(graph: OnnxBenchGraph, pool: WeightPool): TensorSource {
  const shapes = new Map(graphWeights(graph).map((w) => [w.name, w.shape]));
  return randomSource(`${graph.name} random weights (seed ${pool.seed})`, shapes, pool);
}

/**
 * A whole SAM checkpoint in segment-anything names: an encoder graph's weights, the decoder graph's,
 * and the decoder's unused keys (mask prompts, box corners: shapes from the mapping, never used here).
 */
function samSource(
  preset: SamPresetName,
  encoder: OnnxBenchGraph,
  decoder: OnnxBenchGraph,
  pool: WeightPool,
): TensorSource {
  const config = samPreset(preset);
  const e = config.imageEncoder;
  const expected = samParameterShapes(
    config,
    Array.from({ length: e.depth }, () => ({ attnDim: e.embedDim, mlpDim: e.mlpDim })),
  );
  const shapes = new Map<string, number[]>(
    [...graphWeights(encoder), ...graphWeights(decoder)].map((w) => [w.name, w.shape]),
  );
  for (const name of decoder.unused_upstream_state_dict_keys) shapes.set(name, expected.get(name)!);
  return randomSource(`${preset} random weights (seed ${pool.seed})`, shapes, pool);
}

function decoderPrompts(seed: number): { coords: Float32Array; labels: Float32Array } {
  const rng = new Rng(seed);
  const coords = Float32Array.from({ length: 64 * 2 }, () => rng.uniform(0, 1024));
  const labels = rng.shuffle(Array.from({ length: 64 }, (_, i) => (i < 44 ? 1 : i < 60 ? 0 : -1)));
  return { coords, labels: Float32Array.from(labels) };
}

export interface ParityOptions {
  seed?: number;
  log?: (line: string) => void;
}

/** Runs the chosen cases on the current tfjs backend; outputs in the order the cases are given. */
export async function runFullSizeParity(
  cases: readonly ParityCase[],
  options: ParityOptions = {},
): Promise<ParityReport> {
  const seed = options.seed ?? 17;
  const log = options.log ?? (() => {});
  const pool = new WeightPool(seed);
  const report: ParityReport = {
    seed,
    backend: tf.getBackend(),
    maxRelError: MAX_REL_ERROR,
    outputs: [],
    timings: [],
    loadMs: {},
  };
  const record = (parity: OutputParity) => {
    report.outputs.push(parity);
    log(
      `${parity.case} ${parity.output}: max abs ${parity.maxAbsError.toExponential(2)}, max |ort| ${parity.maxAbsReference.toFixed(3)}, rel ${parity.relError.toExponential(2)} ${parity.pass ? 'ok' : 'FAIL'}`,
    );
  };
  const timed = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
    const start = performance.now();
    const value = await f();
    return [value, performance.now() - start];
  };

  const clipCases = cases.filter((c) => c === 'clip320' || c === 'clip640');
  if (clipCases.length > 0) {
    const embedGraph = await readOnnxBenchGraph('clip_convnext_base_w_embed_320');
    const [weights, loadMs] = await timed(() =>
      loadClipWeights(CONVNEXT_BASE_W_320, clipSource(embedGraph, pool), { towers: 'image' }),
    );
    report.loadMs.convnext_base_w_320 = loadMs;
    const model = new ClipModel(CONVNEXT_BASE_W_320, weights);
    try {
      for (const c of clipCases) {
        const size = c === 'clip320' ? 320 : 640;
        const denseName: OnnxBenchGraphName =
          c === 'clip320' ? 'clip_convnext_base_w_dense_320' : 'clip_convnext_base_w_dense_640';
        const shape = [1, 3, size, size];
        const pixels = randomNormal(3 * size * size, seed + size);
        const dense = await runOrt(denseName, await readOnnxBenchGraph(denseName), pool, { pixel_values: pixels });
        const embed =
          c === 'clip320'
            ? await runOrt('clip_convnext_base_w_embed_320', embedGraph, pool, { pixel_values: pixels })
            : null;
        const [[res5, embeds], tfjsMs] = await timed(() => {
          const x = nchwToNhwc(pixels, shape);
          const features = model.trunk.forwardDense(x);
          x.dispose();
          const embeddings = c === 'clip320' ? model.imageHead.forward(features) : null;
          const embedValues = embeddings ? (embeddings.dataSync() as Float32Array) : null;
          embeddings?.dispose();
          return [toNchw(features), embedValues] as const;
        });
        record(
          compare(
            c,
            'res5 (last_hidden_state)',
            [1, 1024, size / 32, size / 32],
            res5,
            dense.outputs.last_hidden_state,
          ),
        );
        if (embed && embeds)
          record(compare(c, 'image embedding (image_embeds)', [1, 640], embeds, embed.outputs.image_embeds));
        report.timings.push({ case: c, ortMs: dense.ms + (embed?.ms ?? 0), tfjsMs });
        log(`${c}: ORT ${(dense.ms + (embed?.ms ?? 0)).toFixed(0)} ms, tfjs ${tfjsMs.toFixed(0)} ms`);
      }
    } finally {
      model.dispose();
    }
  }

  const samGroups: [SamPresetName, OnnxBenchGraphName, ParityCase[]][] = [
    ['slimsam-77', 'slimsam77_image_encoder', cases.filter((c) => c === 'slimsam' || c === 'decoder')],
    ['sam-vit-b', 'sam_vit_b_image_encoder', cases.filter((c) => c === 'samVitB')],
  ];
  for (const [preset, encoderName, groupCases] of samGroups) {
    if (groupCases.length === 0) continue;
    const [encoderGraph, decoderGraph] = await Promise.all([
      readOnnxBenchGraph(encoderName),
      readOnnxBenchGraph('sam_vit_b_decoder_64pts'),
    ]);
    const [model, loadMs] = await timed(() =>
      SamModel.load(samSource(preset, encoderGraph, decoderGraph, pool), samPreset(preset)),
    );
    report.loadMs[preset] = loadMs;
    try {
      for (const c of groupCases) {
        if (c === 'decoder') {
          const embedding = randomNormal(256 * 64 * 64, seed + 2);
          const { coords, labels } = decoderPrompts(seed + 3);
          const ref = await runOrt('sam_vit_b_decoder_64pts', decoderGraph, pool, {
            image_embeddings: embedding,
            point_coords: coords,
            point_labels: labels,
          });
          const [[masks, iou], tfjsMs] = await timed(() => {
            const image = nchwToNhwc(embedding, [1, 256, 64, 64]);
            const prompts = { pointCoords: tf.tensor3d(coords, [64, 1, 2]), pointLabels: tf.tensor2d(labels, [64, 1]) };
            const out = model.decode(image, prompts, true);
            tf.dispose([image, prompts.pointCoords, prompts.pointLabels]);
            const values = [
              out.lowResLogits.dataSync() as Float32Array,
              out.iouPredictions.dataSync() as Float32Array,
            ] as const;
            tf.dispose([out.lowResLogits, out.iouPredictions]);
            return values;
          });
          record(compare(c, 'low_res_masks', [64, 3, 256, 256], masks, ref.outputs.low_res_masks));
          record(compare(c, 'iou_predictions', [64, 3], iou, ref.outputs.iou_predictions));
          report.timings.push({ case: c, ortMs: ref.ms, tfjsMs });
          log(`${c}: ORT ${ref.ms.toFixed(0)} ms, tfjs ${tfjsMs.toFixed(0)} ms`);
        } else {
          const pixels = randomNormal(3 * 1024 * 1024, seed + 1);
          const ref = await runOrt(encoderName, encoderGraph, pool, { pixel_values: pixels });
          const [embedding, tfjsMs] = await timed(() => {
            const x = nchwToNhwc(pixels, [1, 3, 1024, 1024]);
            const out = model.imageEncoder.forward(x);
            x.dispose();
            return toNchw(out);
          });
          record(compare(c, 'image_embeddings', [1, 256, 64, 64], embedding, ref.outputs.image_embeddings));
          report.timings.push({ case: c, ortMs: ref.ms, tfjsMs });
          log(`${c}: ORT ${ref.ms.toFixed(0)} ms, tfjs ${tfjsMs.toFixed(0)} ms`);
        }
      }
    } finally {
      model.dispose();
    }
  }
  return report;
}

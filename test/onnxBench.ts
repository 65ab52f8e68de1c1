/**
 * The onnx-bench graphs (Node only): weight-free ONNX exports of the full-size upstream models whose
 * JSONs list every weight with its upstream state_dict name, shape and (SAM) Hugging Face name.
 * Location: $DEARLI_ONNX_BENCH when set, else test/fixtures/onnx-bench (as scripts/bench.mjs resolves it).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GraphInput, GraphMeta } from '../bench/ort';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ONNX_BENCH_DIR = resolve(REPO_ROOT, process.env.DEARLI_ONNX_BENCH ?? 'test/fixtures/onnx-bench');

export type OnnxBenchGraphName =
  | 'clip_convnext_base_w_dense_320'
  | 'clip_convnext_base_w_dense_640'
  | 'clip_convnext_base_w_embed_320'
  | 'sam_vit_b_image_encoder'
  | 'slimsam77_image_encoder'
  | 'sam_vit_b_decoder_64pts';

export interface OnnxBenchInput extends GraphInput {
  /** SAM-family graphs: the key of the same tensor in transformers SamModel checkpoints. */
  hf_name?: string;
}

export interface OnnxBenchGraph extends GraphMeta {
  inputs: OnnxBenchInput[];
  /** Keys of the upstream checkpoint the graph does not use (not inputs, so no shape is given). */
  unused_upstream_state_dict_keys: string[];
}

export async function readOnnxBenchGraph(name: OnnxBenchGraphName): Promise<OnnxBenchGraph> {
  return JSON.parse(await readFile(join(ONNX_BENCH_DIR, `${name}.json`), 'utf8')) as OnnxBenchGraph;
}

export function onnxBenchModelPath(name: OnnxBenchGraphName): string {
  return join(ONNX_BENCH_DIR, `${name}.onnx`);
}

export function graphWeights(graph: OnnxBenchGraph): OnnxBenchInput[] {
  return graph.inputs.filter((i) => i.kind === 'weight');
}

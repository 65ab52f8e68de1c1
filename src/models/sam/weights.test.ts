import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import { loadFixtureTensors, openFixtureSafetensors, readFixtureJson } from '../../../test/fixtures';
import { DearliError } from '../../core/errors';
import type { LoadedTensor } from '../weights/safetensors';
import { safetensorsSource, type TensorSource } from '../weights/tensorSource';
import { samConfigFromFixture, samConfigFromHfConfig, samPreset, type SamConfig } from './config';
import { linearResizeMatrix, relativePositionTable } from './imageEncoder';
import { normalizeAndPad } from './preprocess';
import { SamModel } from './sam';
import { hfToOriginalKey, loadSamWeights, originalToHfKey, samParameterShapes } from './weights';

const DIR = 'sam-tiny';
let fixtureJson: {
  hf_key_mapping_original_to_hf: Record<string, string>;
  original_state_dict_keys: Record<string, number[]>;
};
let config: SamConfig;

beforeAll(async () => {
  await setupTestBackend();
  fixtureJson = await readFixtureJson(`${DIR}/config.json`);
  config = samConfigFromFixture(fixtureJson);
});

/** An in-memory source built from a map, for editing checkpoints in tests. */
function memorySource(tensors: Map<string, LoadedTensor>, fileName = 'edited.safetensors'): TensorSource {
  return {
    fileName,
    names: [...tensors.keys()],
    has: (n) => tensors.has(n),
    shape: (n) => tensors.get(n)!.shape,
    read: async (n) => tensors.get(n)!,
  };
}

describe('SAM key mapping', () => {
  it('maps every fixture pair in both directions', () => {
    const pairs = Object.entries(fixtureJson.hf_key_mapping_original_to_hf).filter(([k]) => !k.includes('(duplicate)'));
    expect(pairs.length).toBeGreaterThan(50);
    for (const [original, hf] of pairs) {
      expect(originalToHfKey(original, config)).toBe(hf);
      expect(hfToOriginalKey(hf, config)).toBe(original);
    }
    expect(hfToOriginalKey('shared_image_embedding.positional_embedding', config)).toBe(
      'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix',
    );
  });

  it('derives the fixture state-dict shapes from the config', () => {
    const blockDims = Array.from({ length: config.imageEncoder.depth }, () => ({
      attnDim: config.imageEncoder.embedDim,
      mlpDim: config.imageEncoder.mlpDim,
    }));
    const shapes = samParameterShapes(config, blockDims);
    const expected = fixtureJson.original_state_dict_keys;
    expect([...shapes.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, shape] of shapes)
      expect(
        shape.map((d, i) => (d < 0 ? expected[name][i] : d)),
        name,
      ).toEqual(expected[name]);
  });
});

describe('SAM weight validation', () => {
  it('names a missing, an unexpected and a mis-shaped tensor', async () => {
    const tensors = await loadFixtureTensors(`${DIR}/sam_hf.safetensors`);
    const without = new Map(tensors);
    without.delete('mask_decoder.iou_prediction_head.proj_out.bias');
    await expect(loadSamWeights(memorySource(without), config)).rejects.toThrow(
      /"mask_decoder.iou_prediction_head.proj_out.bias" is missing/,
    );

    const extra = new Map(tensors).set(
      'vision_encoder.layers.9.attn.qkv.weight',
      tensors.get('vision_encoder.layers.0.attn.qkv.weight')!,
    );
    await expect(loadSamWeights(memorySource(extra), config)).rejects.toThrow(
      /"vision_encoder.layers.9.attn.qkv.weight" is not part/,
    );

    const bad = new Map(tensors).set('vision_encoder.neck.conv2.weight', {
      dtype: 'F32',
      shape: [16, 16, 1, 1],
      data: new Float32Array(256),
    });
    const err = await loadSamWeights(memorySource(bad), config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DearliError);
    expect((err as DearliError).problem).toMatch(
      /"vision_encoder.neck.conv2.weight" has shape \[16, 16, 1, 1\], expected \[16, 16, 3, 3\]/,
    );
    expect((err as DearliError).file).toBe('edited.safetensors');

    await expect(
      loadSamWeights(memorySource(new Map([['foo', tensors.get('vision_encoder.pos_embed')!]])), config),
    ).rejects.toThrow(/image_encoder.*vision_encoder/);
  });

  it('accepts per-block widths from the weights when the config says so (pruned SlimSAM-style blocks)', async () => {
    const tensors = await loadFixtureTensors(`${DIR}/sam_original.safetensors`);
    // prune block 0 to half the attention width and half the MLP width
    const e = config.imageEncoder;
    const attn = e.embedDim / 2;
    const mlp = e.mlpDim / 2;
    const hd = attn / e.numHeads;
    const random = (shape: number[]): LoadedTensor => ({
      dtype: 'F32',
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.1),
    });
    const b = 'image_encoder.blocks.0.';
    const pruned = new Map(tensors)
      .set(`${b}attn.qkv.weight`, random([3 * attn, e.embedDim]))
      .set(`${b}attn.qkv.bias`, random([3 * attn]))
      .set(`${b}attn.proj.weight`, random([e.embedDim, attn]))
      .set(`${b}attn.rel_pos_h`, random([2 * e.windowSize - 1, hd]))
      .set(`${b}attn.rel_pos_w`, random([2 * e.windowSize - 1, hd]))
      .set(`${b}mlp.lin1.weight`, random([mlp, e.embedDim]))
      .set(`${b}mlp.lin1.bias`, random([mlp]))
      .set(`${b}mlp.lin2.weight`, random([e.embedDim, mlp]));
    await expect(loadSamWeights(memorySource(pruned), config)).rejects.toThrow(/weights-shape|has shape/);
    const slimConfig: SamConfig = { ...config, imageEncoder: { ...e, blockDimsFromWeights: true } };
    const model = await SamModel.load(memorySource(pruned), slimConfig);
    expect(model.weights.blockDims[0]).toEqual({ attnDim: attn, mlpDim: mlp });
    expect(model.weights.blockDims[1]).toEqual({ attnDim: e.embedDim, mlpDim: e.mlpDim });
    const input = tf.zeros([1, e.imgSize, e.imgSize, 3]) as tf.Tensor4D;
    const out = model.imageEncoder.forward(input);
    expect(out.shape).toEqual([1, e.imgSize / e.patchSize, e.imgSize / e.patchSize, e.outChans]);
    tf.dispose([input, out]);
    model.dispose();
  });
});

describe('SAM configs', () => {
  it('has the released architectures', () => {
    expect(samPreset('sam-vit-b').imageEncoder).toMatchObject({
      embedDim: 768,
      depth: 12,
      numHeads: 12,
      mlpDim: 3072,
      globalAttnIndexes: [2, 5, 8, 11],
      windowSize: 14,
    });
    expect(samPreset('sam-vit-l').imageEncoder).toMatchObject({
      embedDim: 1024,
      depth: 24,
      numHeads: 16,
      globalAttnIndexes: [5, 11, 17, 23],
    });
    expect(samPreset('sam-vit-h').imageEncoder).toMatchObject({
      embedDim: 1280,
      depth: 32,
      numHeads: 16,
      globalAttnIndexes: [7, 15, 23, 31],
    });
    expect(samPreset('slimsam-77').imageEncoder).toMatchObject({
      embedDim: 168,
      mlpDim: 696,
      numHeads: 12,
      blockDimsFromWeights: true,
    });
    // Zigeng/SlimSAM-uniform-77 config.json overrides only these two vision fields
    const slim = samConfigFromHfConfig({ vision_config: { hidden_size: 168, mlp_dim: 696 } });
    expect(slim.imageEncoder).toEqual(samPreset('slimsam-77').imageEncoder);
    expect(slim.maskDecoder).toEqual(samPreset('slimsam-77').maskDecoder);
    expect(samConfigFromHfConfig({}).imageEncoder).toEqual(samPreset('sam-vit-b').imageEncoder);
  });
});

describe('SAM image encoder internals', () => {
  it('interpolates relative-position tables as F.interpolate(linear, align_corners=False)', async () => {
    // 2 → 3 entries: sources at −1/6 (clamped to 0), 1/2 and 7/6 (clamped to 1)
    expect(Array.from(linearResizeMatrix(2, 3))).toEqual([1, 0, 0.5, 0.5, 0, 1]);
    // a 3-entry table used for size 2 fits (2·2 − 1 = 3): R[i, k] = table[i − k + 1]
    const table = tf.tensor2d([[10], [20], [30]]);
    const r = relativePositionTable(table as tf.Tensor2D, 2, 2);
    expect(Array.from(await r.data())).toEqual([20, 10, 30, 20]);
    // a 2-entry table stretched to 3 for size 2
    const short = relativePositionTable(tf.tensor2d([[0], [6]]) as tf.Tensor2D, 2, 2);
    expect(Array.from(await short.data())).toEqual([3, 0, 6, 3]);
    tf.dispose([table, r, short]);
  });

  it('gives the same embeddings when attention is computed in small chunks', async () => {
    const model = await SamModel.load(
      safetensorsSource(await openFixtureSafetensors(`${DIR}/sam_original.safetensors`)),
      config,
    );
    const cases = await loadFixtureTensors(`${DIR}/cases.safetensors`);
    const resized = cases.get('image_resized_uint8_hwc')!;
    const input = normalizeAndPad(resized.data as Uint8Array, resized.shape[1], resized.shape[0], config);
    const whole = model.imageEncoder.forward(input);
    // one head and one query row at a time (window and global blocks)
    model.imageEncoder.maxAttentionLogits = 1;
    const chunked = model.imageEncoder.forward(input);
    const diff = tf.max(tf.abs(tf.sub(whole, chunked)));
    expect(await diff.data()).toEqual(new Float32Array([0]));
    tf.dispose([input, whole, chunked, diff]);
    model.dispose();
  });
});

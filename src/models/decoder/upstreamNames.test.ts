import { describe, expect, it } from 'vitest';
import { decoderPreset } from './config';
import { decoderParamTable } from './m2fLang';
import { fromTorchLayout, toTorchLayout, upstreamTensors } from './upstreamNames';

/**
 * The tiny preset's tensors as the upstream modules name and shape them (torch layouts), written out
 * from DEARLi's MSDeformAttnPixelDecoder and vision-language Mask2Former decoder __init__s:
 * d = 32, 1 encoder layer of MSDeformAttn(4 heads, 3 levels, 2 points), res2..res5 = 16/32/48/64
 * channels, 12 queries, 3 decoder layers with FFN 64, mask dim 32, CLIP dim 16.
 */
function upstreamTiny(): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const norm = (p: string) => (m.set(`${p}.weight`, [32]), m.set(`${p}.bias`, [32]));
  const px = 'sem_seg_head.pixel_decoder';
  [64, 48, 32].forEach((cin, l) => {
    m.set(`${px}.input_proj.${l}.0.weight`, [32, cin, 1, 1]).set(`${px}.input_proj.${l}.0.bias`, [32]);
    norm(`${px}.input_proj.${l}.1`);
  });
  m.set(`${px}.transformer.level_embed`, [3, 32]);
  const enc = `${px}.transformer.encoder.layers.0`;
  m.set(`${enc}.self_attn.sampling_offsets.weight`, [48, 32]).set(`${enc}.self_attn.sampling_offsets.bias`, [48]);
  m.set(`${enc}.self_attn.attention_weights.weight`, [24, 32]).set(`${enc}.self_attn.attention_weights.bias`, [24]);
  m.set(`${enc}.self_attn.value_proj.weight`, [32, 32]).set(`${enc}.self_attn.value_proj.bias`, [32]);
  m.set(`${enc}.self_attn.output_proj.weight`, [32, 32]).set(`${enc}.self_attn.output_proj.bias`, [32]);
  norm(`${enc}.norm1`);
  m.set(`${enc}.linear1.weight`, [64, 32]).set(`${enc}.linear1.bias`, [64]);
  m.set(`${enc}.linear2.weight`, [32, 64]).set(`${enc}.linear2.bias`, [32]);
  norm(`${enc}.norm2`);
  m.set(`${px}.adapter_1.weight`, [32, 16, 1, 1]);
  norm(`${px}.adapter_1.norm`);
  m.set(`${px}.layer_1.weight`, [32, 32, 3, 3]);
  norm(`${px}.layer_1.norm`);
  m.set(`${px}.mask_features.weight`, [32, 32, 1, 1]).set(`${px}.mask_features.bias`, [32]);

  const pr = 'sem_seg_head.predictor';
  m.set(`${pr}.query_feat.weight`, [12, 32])
    .set(`${pr}.query_embed.weight`, [12, 32])
    .set(`${pr}.level_embed.weight`, [3, 32]);
  for (let i = 0; i < 3; i++) {
    for (const [list, attn] of [
      ['transformer_self_attention_layers', 'self_attn'],
      ['transformer_cross_attention_layers', 'multihead_attn'],
    ]) {
      const p = `${pr}.${list}.${i}`;
      m.set(`${p}.${attn}.in_proj_weight`, [96, 32]).set(`${p}.${attn}.in_proj_bias`, [96]);
      m.set(`${p}.${attn}.out_proj.weight`, [32, 32]).set(`${p}.${attn}.out_proj.bias`, [32]);
      norm(`${p}.norm`);
    }
    const f = `${pr}.transformer_ffn_layers.${i}`;
    m.set(`${f}.linear1.weight`, [64, 32])
      .set(`${f}.linear1.bias`, [64])
      .set(`${f}.linear2.weight`, [32, 64])
      .set(`${f}.linear2.bias`, [32]);
    norm(`${f}.norm`);
  }
  norm(`${pr}.decoder_norm`);
  for (let i = 0; i < 3; i++) {
    m.set(`${pr}.mask_embed.layers.${i}.weight`, [32, 32]).set(`${pr}.mask_embed.layers.${i}.bias`, [32]);
    m.set(`${pr}.class_embed.layers.${i}.weight`, [i === 2 ? 16 : 32, 32]).set(`${pr}.class_embed.layers.${i}.bias`, [
      i === 2 ? 16 : 32,
    ]);
  }
  m.set(`${pr}.logit_scale`, []);
  m.set('void_embedding.weight', [1, 16]);
  return m;
}

describe('upstream tensor names', () => {
  const config = decoderPreset('tiny');
  const table = decoderParamTable(config);
  const tensors = upstreamTensors(config, table);

  it('names and shapes every tensor as the upstream modules do', () => {
    const expected = upstreamTiny();
    expect(expected.size).toBe(110);
    expect(new Map(tensors.map((t) => [t.name, t.shape]))).toEqual(expected);
    expect(tensors.length).toBe(expected.size);
  });

  it('holds every lab parameter exactly once, with all its values', () => {
    const parts = tensors.flatMap((t) => t.parts);
    expect(new Set(parts).size).toBe(parts.length);
    expect(new Set(parts)).toEqual(new Set(table.keys()));
    for (const t of tensors) {
      const labValues = t.parts.reduce((n, p) => n + table.get(p)!.shape.reduce((a, d) => a * d, 1), 0);
      expect(labValues).toBe(t.shape.reduce((a, d) => a * d, 1));
    }
  });

  it('maps the plain FPN decoder onto BasePixelDecoder names', () => {
    const fpn = decoderPreset('laptop-fpn');
    const names = upstreamTensors(fpn, decoderParamTable(fpn)).map((t) => t.name);
    expect(names).toContain('sem_seg_head.pixel_decoder.layer_4.weight');
    expect(names).toContain('sem_seg_head.pixel_decoder.adapter_3.norm.bias');
    expect(names).not.toContain('sem_seg_head.pixel_decoder.adapter_4.weight');
    expect(names.filter((n) => n.includes('transformer.'))).toEqual([]);
  });

  it('converts layouts as torch stores them', () => {
    // Linear: lab [in 2, out 3] → torch [out 3, in 2].
    const linear = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect([...toTorchLayout(linear, [2, 3], 'linear')]).toEqual([1, 4, 2, 5, 3, 6]);
    // Conv: lab HWIO [1, 2, 1, 2] → torch OIHW [2, 1, 1, 2]: w[o][i][y][x] = lab[y][x][i][o].
    const conv = Float32Array.from([1, 2, 3, 4]);
    expect([...toTorchLayout(conv, [1, 2, 1, 2], 'conv')]).toEqual([1, 3, 2, 4]);
    const kernel = Float32Array.from({ length: 3 * 3 * 4 * 5 }, (_, i) => i);
    expect(fromTorchLayout(toTorchLayout(kernel, [3, 3, 4, 5], 'conv'), [3, 3, 4, 5], 'conv')).toEqual(kernel);
  });
});

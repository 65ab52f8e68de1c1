/**
 * Pixel decoder (method-spec §2.2): trunk features {res2..res5} NHWC → multi-scale features
 * [s32, s16, s8] for the transformer decoder and 'mask features' at stride 4.
 * 'msdeform' = Mask2Former's MSDeformAttnPixelDecoder (input proj + GN, sine position + level
 * embedding, deformable encoder layers over res3..res5, one FPN step onto res2);
 * 'fpn' = a plain top-down FPN over all four levels (cheaper, see DecoderConfig.pixelDecoder).
 */
import * as tf from '@tensorflow/tfjs';
import { conv3x3, groupNorm } from '../ops/layers';
import { layerNorm, linear } from '../ops/nn';
import { resizeNHWC } from '../ops/resize';
import { tidyAll } from '../ops/scope';
import { NUM_LEVELS, type DecoderConfig } from './config';
import { declareMsDeformAttnParams, encoderReferencePoints, msDeformAttn, type LevelShape } from './msDeformAttn';
import { addLinear, addNorm, c2Xavier, torchLinear, XAVIER, ZEROS, type ParamStore, type ParamTable } from './params';
import { sinePosition } from './positionEncoding';

export interface TrunkFeatures {
  res2: tf.Tensor4D;
  res3: tf.Tensor4D;
  res4: tf.Tensor4D;
  res5: tf.Tensor4D;
}

export interface PixelDecoderOutput {
  /** [s32, s16, s8], each [B, H_l, W_l, convDim]. */
  multiScale: tf.Tensor4D[];
  /** [B, H/4, W/4, maskDim] */
  maskFeatures: tf.Tensor4D;
}

const relu = (x: tf.Tensor4D): tf.Tensor4D => tf.relu(x);

function convNorm(ps: ParamStore, name: string, x: tf.Tensor4D, groups: number, bias: boolean): tf.Tensor4D {
  const y = linear(
    x,
    ps.get(`${name}.weight`) as tf.Tensor2D,
    bias ? ps.get(`${name}.bias`) : undefined,
  ) as tf.Tensor4D;
  return groupNorm(y, groups, ps.get(`${name}.norm.weight`), ps.get(`${name}.norm.bias`));
}

function conv3Norm(ps: ParamStore, name: string, x: tf.Tensor4D, groups: number): tf.Tensor4D {
  return groupNorm(
    conv3x3(x, ps.get(`${name}.weight`) as tf.Tensor4D),
    groups,
    ps.get(`${name}.norm.weight`),
    ps.get(`${name}.norm.bias`),
  );
}

function deformableEncoderLayer(
  ps: ParamStore,
  c: DecoderConfig,
  i: number,
  src: tf.Tensor3D,
  pos: tf.Tensor,
  reference: tf.Tensor2D,
  levels: LevelShape[],
): tf.Tensor3D {
  const p = `pixel.encoder.${i}`;
  const lin = (n: string) =>
    [ps.get(`${p}.${n}.weight`) as tf.Tensor2D, ps.get(`${p}.${n}.bias`)] as [tf.Tensor2D, tf.Tensor];
  const attended = msDeformAttn(
    {
      valueProj: lin('attn.value_proj'),
      samplingOffsets: lin('attn.sampling_offsets'),
      attentionWeights: lin('attn.attention_weights'),
      outputProj: lin('attn.output_proj'),
    },
    c.encoderHeads,
    c.encoderPoints,
    tf.add(src, pos) as tf.Tensor3D,
    reference,
    src,
    levels,
  );
  const x = layerNorm(tf.add(src, attended), ps.get(`${p}.norm1.weight`), ps.get(`${p}.norm1.bias`), 1e-5);
  const ffn = linear(tf.relu(linear(x, ...lin('linear1'))), ...lin('linear2'));
  return layerNorm(tf.add(x, ffn), ps.get(`${p}.norm2.weight`), ps.get(`${p}.norm2.bias`), 1e-5) as tf.Tensor3D;
}

function msDeformPixelDecoder(ps: ParamStore, c: DecoderConfig, f: TrunkFeatures): PixelDecoderOutput {
  const b = f.res5.shape[0];
  const d = c.convDim;
  const inputs = [f.res5, f.res4, f.res3];
  const levels: LevelShape[] = inputs.map((t) => ({ height: t.shape[1], width: t.shape[2] }));
  const projected = inputs.map((t, l) => convNorm(ps, `pixel.input_proj.${l}`, t, c.normGroups, true));
  const levelEmbed = tf.split(ps.get('pixel.level_embed'), NUM_LEVELS, 0);
  const pos = tf.concat(
    levels.map((l, i) => tf.add(sinePosition(l.height, l.width, d / 2), levelEmbed[i])),
    0,
  );
  const reference = tf.tensor2d(encoderReferencePoints(levels), [pos.shape[0], 2]);
  let src = tf.concat(
    projected.map((t) => tf.reshape(t, [b, -1, d])),
    1,
  ) as tf.Tensor3D;
  for (let i = 0; i < c.encoderLayers; i++) src = deformableEncoderLayer(ps, c, i, src, pos, reference, levels);
  const multiScale = tf
    .split(
      src,
      levels.map((l) => l.height * l.width),
      1,
    )
    .map((t, i) => tf.reshape(t, [b, levels[i].height, levels[i].width, d]) as tf.Tensor4D);
  const [h2, w2] = f.res2.shape.slice(1, 3);
  const lateral = convNorm(ps, 'pixel.lateral.0', f.res2, c.normGroups, false);
  const merged = tf.add(lateral, resizeNHWC(multiScale[2], h2, w2)) as tf.Tensor4D;
  const fpnOut = relu(conv3Norm(ps, 'pixel.output.0', merged, c.normGroups));
  const maskFeatures = linear(
    fpnOut,
    ps.get('pixel.mask_features.weight') as tf.Tensor2D,
    ps.get('pixel.mask_features.bias'),
  ) as tf.Tensor4D;
  return { multiScale, maskFeatures };
}

function fpnPixelDecoder(ps: ParamStore, c: DecoderConfig, f: TrunkFeatures): PixelDecoderOutput {
  let y = relu(conv3Norm(ps, 'pixel.fpn.top', f.res5, c.normGroups));
  const multiScale = [y];
  [f.res4, f.res3, f.res2].forEach((t, l) => {
    const lateral = convNorm(ps, `pixel.lateral.${l}`, t, c.normGroups, false);
    y = relu(
      conv3Norm(
        ps,
        `pixel.output.${l}`,
        tf.add(lateral, resizeNHWC(y, t.shape[1], t.shape[2])) as tf.Tensor4D,
        c.normGroups,
      ),
    );
    if (l < 2) multiScale.push(y);
  });
  const maskFeatures = linear(
    y,
    ps.get('pixel.mask_features.weight') as tf.Tensor2D,
    ps.get('pixel.mask_features.bias'),
  ) as tf.Tensor4D;
  return { multiScale, maskFeatures };
}

export function pixelDecoder(ps: ParamStore, config: DecoderConfig, features: TrunkFeatures): PixelDecoderOutput {
  return tidyAll(() =>
    config.pixelDecoder === 'msdeform'
      ? msDeformPixelDecoder(ps, config, features)
      : fpnPixelDecoder(ps, config, features),
  );
}

/** The pixel decoder's parameters (input projections, deformable encoder, FPN step, mask features). */
export function declarePixelDecoderParams(t: ParamTable, c: DecoderConfig): void {
  const d = c.convDim;
  const [c2, c3, c4, c5] = c.trunkChannels;
  if (c.pixelDecoder === 'msdeform') {
    // Input projections in level order res5, res4, res3.
    [c5, c4, c3].forEach((cin, l) => {
      addLinear(t, `pixel.input_proj.${l}`, cin, d, XAVIER, ZEROS);
      addNorm(t, `pixel.input_proj.${l}.norm`, d);
    });
    t.set('pixel.level_embed', { shape: [NUM_LEVELS, d], init: { kind: 'normal', std: 1 }, decay: false });
    for (let i = 0; i < c.encoderLayers; i++) {
      const p = `pixel.encoder.${i}`;
      declareMsDeformAttnParams(t, `${p}.attn`, d, c.encoderHeads, NUM_LEVELS, c.encoderPoints);
      addNorm(t, `${p}.norm1`, d);
      addLinear(t, `${p}.linear1`, d, c.encoderFfnDim, XAVIER, torchLinear(d));
      addLinear(t, `${p}.linear2`, c.encoderFfnDim, d, XAVIER, torchLinear(c.encoderFfnDim));
      addNorm(t, `${p}.norm2`, d);
    }
    // One FPN step onto res2 (stride 4).
    addLinear(t, 'pixel.lateral.0', c2, d, c2Xavier(c2), null);
    addNorm(t, 'pixel.lateral.0.norm', d);
    t.set('pixel.output.0.weight', { shape: [3, 3, d, d], init: c2Xavier(9 * d), decay: true });
    addNorm(t, 'pixel.output.0.norm', d);
  } else {
    // Plain FPN: 3x3 on res5, then lateral 1x1 + 3x3 output conv on res4, res3, res2.
    t.set('pixel.fpn.top.weight', { shape: [3, 3, c5, d], init: c2Xavier(9 * c5), decay: true });
    addNorm(t, 'pixel.fpn.top.norm', d);
    [c4, c3, c2].forEach((cin, l) => {
      addLinear(t, `pixel.lateral.${l}`, cin, d, c2Xavier(cin), null);
      addNorm(t, `pixel.lateral.${l}.norm`, d);
      t.set(`pixel.output.${l}.weight`, { shape: [3, 3, d, d], init: c2Xavier(9 * d), decay: true });
      addNorm(t, `pixel.output.${l}.norm`, d);
    });
  }
  addLinear(t, 'pixel.mask_features', d, c.maskDim, c2Xavier(d), ZEROS);
}

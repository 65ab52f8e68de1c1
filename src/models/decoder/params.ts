/**
 * The decoder's trainable parameters: one table of names, shapes, initialisers and weight-decay
 * flags (used for the model, the optimizer, checkpoints and the parameter count), and a store of
 * tf.Variables built from it with the seeded RNG.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../core/rng';
import { NUM_LEVELS, type DecoderConfig } from './config';

type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  /** U(±√(6/(fan_in+fan_out))) — torch xavier_uniform_. */
  | { kind: 'xavier' }
  /** U(±bound) — torch Linear's default (bound 1/√fan_in), detectron2's c2_xavier_fill (√(3/fan_in)). */
  | { kind: 'uniform'; bound: number }
  | { kind: 'constant'; values: number[] };

interface ParamSpec {
  shape: number[];
  init: Init;
  /** AdamW decoupled weight decay applies (false for norms, embeddings, queries). */
  decay: boolean;
}

export type ParamTable = Map<string, ParamSpec>;

const size = (shape: number[]): number => shape.reduce((a, d) => a * d, 1);

function addLinear(
  t: ParamTable,
  name: string,
  inDim: number,
  outDim: number,
  weightInit: Init,
  biasInit: Init | null,
): void {
  t.set(`${name}.weight`, { shape: [inDim, outDim], init: weightInit, decay: true });
  if (biasInit) t.set(`${name}.bias`, { shape: [outDim], init: biasInit, decay: true });
}

function addNorm(t: ParamTable, name: string, dim: number): void {
  t.set(`${name}.weight`, { shape: [dim], init: { kind: 'ones' }, decay: false });
  t.set(`${name}.bias`, { shape: [dim], init: { kind: 'zeros' }, decay: false });
}

const torchLinear = (inDim: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(inDim) });
const c2Xavier = (fanIn: number): Init => ({ kind: 'uniform', bound: Math.sqrt(3 / fanIn) });
const ZEROS: Init = { kind: 'zeros' };
const XAVIER: Init = { kind: 'xavier' };

/** Upstream MSDeformAttn offset bias: per-head direction (max-abs normalised) × (point index + 1). */
function samplingOffsetBias(heads: number, levels: number, points: number): number[] {
  const v: number[] = [];
  for (let h = 0; h < heads; h++) {
    const theta = (2 * Math.PI * h) / heads;
    const cx = Math.cos(theta);
    const cy = Math.sin(theta);
    const m = Math.max(Math.abs(cx), Math.abs(cy));
    for (let l = 0; l < levels; l++) for (let p = 0; p < points; p++) v.push((cx / m) * (p + 1), (cy / m) * (p + 1));
  }
  return v;
}

function addPixelDecoder(t: ParamTable, c: DecoderConfig): void {
  const d = c.convDim;
  const [c2, c3, c4, c5] = c.trunkChannels;
  if (c.pixelDecoder === 'msdeform') {
    // Input projections in level order res5, res4, res3.
    [c5, c4, c3].forEach((cin, l) => {
      addLinear(t, `pixel.input_proj.${l}`, cin, d, XAVIER, ZEROS);
      addNorm(t, `pixel.input_proj.${l}.norm`, d);
    });
    t.set('pixel.level_embed', { shape: [NUM_LEVELS, d], init: { kind: 'normal', std: 1 }, decay: false });
    const hp = c.encoderHeads * NUM_LEVELS * c.encoderPoints;
    for (let i = 0; i < c.encoderLayers; i++) {
      const p = `pixel.encoder.${i}`;
      addLinear(t, `${p}.attn.sampling_offsets`, d, hp * 2, ZEROS, {
        kind: 'constant',
        values: samplingOffsetBias(c.encoderHeads, NUM_LEVELS, c.encoderPoints),
      });
      addLinear(t, `${p}.attn.attention_weights`, d, hp, ZEROS, ZEROS);
      addLinear(t, `${p}.attn.value_proj`, d, d, XAVIER, ZEROS);
      addLinear(t, `${p}.attn.output_proj`, d, d, XAVIER, ZEROS);
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

function addTransformerDecoder(t: ParamTable, c: DecoderConfig): void {
  const h = c.hiddenDim;
  t.set('decoder.query_feat', { shape: [c.numQueries, h], init: { kind: 'normal', std: 1 }, decay: false });
  t.set('decoder.query_embed', { shape: [c.numQueries, h], init: { kind: 'normal', std: 1 }, decay: false });
  t.set('decoder.level_embed', { shape: [NUM_LEVELS, h], init: { kind: 'normal', std: 1 }, decay: false });
  for (let i = 0; i < c.decoderLayers; i++) {
    const p = `decoder.layers.${i}`;
    for (const attn of ['cross_attn', 'self_attn']) {
      for (const proj of ['q', 'k', 'v', 'out']) addLinear(t, `${p}.${attn}.${proj}`, h, h, XAVIER, ZEROS);
      addNorm(t, `${p}.${attn}.norm`, h);
    }
    addLinear(t, `${p}.ffn.linear1`, h, c.ffnDim, XAVIER, torchLinear(h));
    addLinear(t, `${p}.ffn.linear2`, c.ffnDim, h, XAVIER, torchLinear(c.ffnDim));
    addNorm(t, `${p}.ffn.norm`, h);
  }
  addNorm(t, 'decoder.decoder_norm', h);
  for (let i = 0; i < 3; i++)
    addLinear(t, `decoder.mask_embed.${i}`, h, i === 2 ? c.maskDim : h, torchLinear(h), torchLinear(h));
  for (let i = 0; i < 3; i++)
    addLinear(t, `decoder.class_embed.${i}`, h, i === 2 ? c.embedDim : h, torchLinear(h), torchLinear(h));
  // Learnable logit scale (decayed like any weight, as upstream) and the void-class embedding.
  t.set('decoder.logit_scale', { shape: [], init: { kind: 'constant', values: [Math.log(1 / 0.07)] }, decay: true });
  t.set('decoder.void_embedding', { shape: [1, c.embedDim], init: { kind: 'normal', std: 1 }, decay: false });
}

export function decoderParamTable(config: DecoderConfig): ParamTable {
  const t: ParamTable = new Map();
  addPixelDecoder(t, config);
  addTransformerDecoder(t, config);
  return t;
}

export function parameterCount(config: DecoderConfig): number {
  let n = 0;
  for (const s of decoderParamTable(config).values()) n += size(s.shape);
  return n;
}

function initialValues(spec: ParamSpec, rng: Rng): Float32Array {
  const n = size(spec.shape);
  const v = new Float32Array(n);
  const init = spec.init;
  switch (init.kind) {
    case 'zeros':
      break;
    case 'ones':
      v.fill(1);
      break;
    case 'normal':
      for (let i = 0; i < n; i++) v[i] = rng.normal() * init.std;
      break;
    case 'xavier': {
      // Weights are stored [.., in, out]; fans as torch computes them for [out, in(, kh, kw)].
      const s = spec.shape;
      const receptive = s.length > 2 ? size(s.slice(0, -2)) : 1;
      const bound = Math.sqrt(6 / (s[s.length - 2] * receptive + s[s.length - 1] * receptive));
      for (let i = 0; i < n; i++) v[i] = rng.uniform(-bound, bound);
      break;
    }
    case 'uniform':
      for (let i = 0; i < n; i++) v[i] = rng.uniform(-init.bound, init.bound);
      break;
    case 'constant':
      if (init.values.length !== n) throw new Error(`constant init: ${init.values.length} values for ${n}`);
      v.set(init.values);
      break;
  }
  return v;
}

/** Named tf.Variables of one decoder (names are ours; tfjs gets anonymous variables so several models can coexist). */
export class ParamStore {
  readonly table: ParamTable;
  readonly vars = new Map<string, tf.Variable>();

  constructor(table: ParamTable, seed: number) {
    this.table = table;
    const rng = new Rng(seed);
    for (const [name, spec] of table) {
      // tidy frees the initial tensor; the variable keeps its own copy of the data.
      this.vars.set(
        name,
        tf.tidy(() => tf.variable(tf.tensor(initialValues(spec, rng), spec.shape), true)),
      );
    }
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`decoder parameter "${name}" does not exist`);
    return v;
  }

  /** Sets every parameter from plain arrays (checkpoint restore, teacher copies). */
  assign(values: Map<string, Float32Array>): void {
    for (const [name, v] of this.vars) {
      const data = values.get(name);
      if (!data) throw new Error(`checkpoint lacks decoder parameter "${name}"`);
      if (data.length !== v.size)
        throw new Error(`decoder parameter "${name}": ${data.length} values, expected ${v.size}`);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

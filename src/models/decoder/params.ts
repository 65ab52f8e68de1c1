/**
 * The decoder's trainable parameters: each module declares its own (names, shapes, initialisers,
 * weight-decay flags) into one table, as Mask2Former's nn.Modules do in their constructors; the
 * table serves the model, the optimizer, checkpoints and the parameter count. A store of
 * tf.Variables is built from it with the seeded RNG, in declaration order.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../core/rng';

export type Init =
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

export function addLinear(
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

export function addNorm(t: ParamTable, name: string, dim: number): void {
  t.set(`${name}.weight`, { shape: [dim], init: { kind: 'ones' }, decay: false });
  t.set(`${name}.bias`, { shape: [dim], init: { kind: 'zeros' }, decay: false });
}

/** torch nn.Linear's default initialisation. */
export const torchLinear = (inDim: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(inDim) });
/** detectron2's c2_xavier_fill. */
export const c2Xavier = (fanIn: number): Init => ({ kind: 'uniform', bound: Math.sqrt(3 / fanIn) });
export const ZEROS: Init = { kind: 'zeros' };
export const XAVIER: Init = { kind: 'xavier' };

/** Number of values in a table. */
export function tableSize(table: ParamTable): number {
  let n = 0;
  for (const s of table.values()) n += size(s.shape);
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

  /** Sets every parameter from plain arrays (checkpoint restore, teacher copies, bundles): all are checked
   * before any is assigned, so a bad set leaves the model as it was. */
  assign(values: Map<string, Float32Array>): void {
    for (const [name, v] of this.vars) {
      const data = values.get(name);
      if (!data) throw new Error(`checkpoint lacks decoder parameter "${name}"`);
      if (data.length !== v.size)
        throw new Error(`decoder parameter "${name}": ${data.length} values, expected ${v.size}`);
    }
    for (const [name, v] of this.vars) tf.tidy(() => v.assign(tf.tensor(values.get(name)!, v.shape)));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

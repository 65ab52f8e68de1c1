/**
 * Bilinear sampling with per-sample weights as three WebGPU kernels, forward and backward, for
 * training: multi-scale deformable attention (every query sums levels × points samples of its head's
 * value table) and the losses' point sampling of mask planes. The composed path (sampling.ts) builds
 * the same sums from ~40 small ops (tap positions, in-bounds tests, a gather of [samples·4, C] rows, a
 * batched matMul) and differentiates them op by op, the gather's gradient being a transpose, a
 * float-atomic scatter and a transpose back. Here:
 * - forward: one thread per output (group, channel), taps computed in registers, nothing written but
 *   the output;
 * - sample gradient: one thread per sample gives ∂/∂weight, ∂/∂x and ∂/∂y from the table and the
 *   output gradient, without atomics (each sample's gradient has one writer);
 * - table gradient: one thread per (group, channel) adds weight · tap weight · ∂out into the table's
 *   gradient. Queries may sample any row, so rows have unbounded writers: this scatter still uses a
 *   float compare-exchange add (one dispatch, no [samples·4, C] buffer, no transposes). A sort of the
 *   taps by row would remove the atomics but costs a multi-pass GPU sort per step.
 * Semantics are grid_sample's (align_corners=False, zero padding) as in sampling.ts: pixel
 * px = x·W − 0.5, taps floor(px) and floor(px) + 1, a tap outside the plane weighs 0; the in-bounds
 * test carries no gradient.
 *
 * Limits (else the composed path): WebGPU, float32 values, at most MAX_SAMPLING_LEVELS levels.
 */
import * as tf from '@tensorflow/tfjs';
import { RowProgram, runAtomicProgram, runProgram } from './webgpuProgram';

const MAX_SAMPLING_LEVELS = 8;
/** WebGPU's guaranteed workgroups per dispatch dimension; larger jobs loop (grid stride). */
const MAX_WORKGROUPS = 65535;
const WORKGROUP = 64;

/** A plane of the table: rows start + y·width + x (relative to a group's base row). */
interface SamplingLevel {
  height: number;
  width: number;
  start: number;
}

/**
 * groups × samples sample points, samples = levels × pointsPerLevel in level-major order; group g reads
 * table rows rowBase[g] + level.start + y·width + x.
 */
export interface SamplingLayout {
  levels: SamplingLevel[];
  pointsPerLevel: number;
}

export function samplingKernelsFit(table: tf.Tensor, layout: SamplingLayout): boolean {
  return (
    tf.getBackend() === 'webgpu' &&
    table.dtype === 'float32' &&
    layout.levels.length >= 1 &&
    layout.levels.length <= MAX_SAMPLING_LEVELS &&
    layout.pointsPerLevel >= 1
  );
}

const layoutKey = (l: SamplingLayout) =>
  `${l.pointsPerLevel}_${l.levels.map((v) => `${v.height}x${v.width}+${v.start}`).join('_')}`;

/**
 * WGSL: `level(l)` → (height, width, start) of level l; `tap(...)` the four tap rows and weights of a
 * point. Tap order: (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1).
 */
function samplingHelpers(layout: SamplingLayout): string {
  const cases = layout.levels
    .map((v, i) => `if (l == ${i}) { return vec3<i32>(${v.height}, ${v.width}, ${v.start}); }`)
    .join('\n        ');
  return `
      const POINTS = ${layout.pointsPerLevel};
      const SAMPLES = ${layout.pointsPerLevel * layout.levels.length};

      fn level(l : i32) -> vec3<i32> {
        ${cases}
        return vec3<i32>(0, 0, 0);
      }

      struct Taps {
        rows : vec4<i32>,
        inside : vec4<f32>,
        fx : f32,
        fy : f32,
      };

      /** Sample s of a group whose rows begin at base: the taps at (x, y) on its level. */
      fn taps(base : i32, s : i32, x : f32, y : f32) -> Taps {
        let plane = level(s / POINTS);
        let h = plane.x;
        let w = plane.y;
        let px = x * f32(w) - 0.5;
        let py = y * f32(h) - 0.5;
        let x0f = floor(px);
        let y0f = floor(py);
        var t : Taps;
        t.fx = px - x0f;
        t.fy = py - y0f;
        let x0 = i32(clamp(x0f, -2.0, f32(w)));
        let y0 = i32(clamp(y0f, -2.0, f32(h)));
        let xs = vec4<i32>(x0, x0 + 1, x0, x0 + 1);
        let ys = vec4<i32>(y0, y0, y0 + 1, y0 + 1);
        let inX = (xs >= vec4<i32>(0)) & (xs < vec4<i32>(w));
        let inY = (ys >= vec4<i32>(0)) & (ys < vec4<i32>(h));
        t.inside = select(vec4<f32>(0.0), vec4<f32>(1.0), inX & inY);
        let cx = clamp(xs, vec4<i32>(0), vec4<i32>(w - 1));
        let cy = clamp(ys, vec4<i32>(0), vec4<i32>(h - 1));
        t.rows = vec4<i32>(base + plane.z) + cy * w + cx;
        return t;
      }

      fn tapWeights(t : Taps) -> vec4<f32> {
        return vec4<f32>((1.0 - t.fx) * (1.0 - t.fy), t.fx * (1.0 - t.fy), (1.0 - t.fx) * t.fy, t.fx * t.fy) * t.inside;
      }
  `;
}

/**
 * A grid-stride loop over `total` items in at most MAX_WORKGROUPS workgroups, with a shader key per
 * shape and the sampling WGSL (`prelude()`: the layout's helpers, C channels and, for programs that
 * read the table, `tapValues`).
 */
abstract class SamplingProgram extends RowProgram {
  uniforms = 'total : i32,';
  shaderKey: string;
  protected readonly stride: number;
  private readonly layout: SamplingLayout;
  private readonly channels: number;

  constructor(name: string, outputShape: number[], total: number, channels: number, layout: SamplingLayout) {
    const threads = Math.min(Math.max(total, 1), MAX_WORKGROUPS * WORKGROUP);
    super(outputShape, threads);
    this.stride = this.dispatch[0] * WORKGROUP;
    this.layout = layout;
    this.channels = channels;
    this.shaderKey = `dearli_sample_${name}_${channels}_${this.stride}_${layoutKey(layout)}`;
  }

  protected prelude(): string {
    const tapValues = this.variableNames.includes('Table')
      ? `
      /** Channel c of the four taps' table rows. */
      fn tapValues(t : Taps, c : i32) -> vec4<f32> {
        return vec4<f32>(Table[t.rows.x * C + c], Table[t.rows.y * C + c], Table[t.rows.z * C + c], Table[t.rows.w * C + c]);
      }`
      : '';
    return `
      ${samplingHelpers(this.layout)}
      const C = ${this.channels};
      ${tapValues}
    `;
  }
}

/** out[g, c] = Σ_s weight[g, s] · bilinear(table, rowBase[g], s, x[g, s], y[g, s])[c]. */
class SampleForwardProgram extends SamplingProgram {
  variableNames = ['Table', 'RowBase', 'X', 'Y', 'Weight'];

  constructor(groups: number, channels: number, layout: SamplingLayout) {
    super('forward', [groups, channels], groups * channels, channels, layout);
  }

  getUserCode(): string {
    return `
      ${this.prelude()}

      fn main(first : i32) {
        for (var item = first; item < uniforms.total; item += ${this.stride}) {
          let g = item / C;
          let c = item - g * C;
          let base = RowBase[g];
          var acc = 0.0;
          for (var s = 0; s < SAMPLES; s++) {
            let k = g * SAMPLES + s;
            let t = taps(base, s, X[k], Y[k]);
            acc += Weight[k] * dot(tapWeights(t), tapValues(t, c));
          }
          setOutputAtIndex(item, acc);
        }
      }
    `;
  }
}

/** Per sample k: [∂L/∂weight, ∂L/∂x, ∂L/∂y] at k, total + k, 2·total + k. */
class SampleGradientProgram extends SamplingProgram {
  variableNames = ['Table', 'RowBase', 'X', 'Y', 'Weight', 'Dy'];

  constructor(samples: number, channels: number, layout: SamplingLayout) {
    super('gradient', [3, samples], samples, channels, layout);
  }

  getUserCode(): string {
    return `
      ${this.prelude()}

      fn main(first : i32) {
        for (var k = first; k < uniforms.total; k += ${this.stride}) {
          let g = k / SAMPLES;
          let s = k - g * SAMPLES;
          let t = taps(RowBase[g], s, X[k], Y[k]);
          let w = tapWeights(t);
          // ∂(tap weights)/∂fx and /∂fy, zero outside the plane.
          let wx = vec4<f32>(-(1.0 - t.fy), 1.0 - t.fy, -t.fy, t.fy) * t.inside;
          let wy = vec4<f32>(-(1.0 - t.fx), -t.fx, 1.0 - t.fx, t.fx) * t.inside;
          var dWeight = 0.0;
          var dx = 0.0;
          var dy = 0.0;
          for (var c = 0; c < C; c++) {
            let v = tapValues(t, c) * Dy[g * C + c];
            dWeight += dot(w, v);
            dx += dot(wx, v);
            dy += dot(wy, v);
          }
          let plane = level(s / POINTS);
          let weight = Weight[k];
          setOutputAtIndex(k, dWeight);
          setOutputAtIndex(uniforms.total + k, weight * f32(plane.y) * dx);
          setOutputAtIndex(2 * uniforms.total + k, weight * f32(plane.x) * dy);
        }
      }
    `;
  }
}

/** ∂L/∂table: each (group, channel) adds its samples' shares into the rows they read (float atomics). */
class TableGradientProgram extends SamplingProgram {
  variableNames = ['RowBase', 'X', 'Y', 'Weight', 'Dy'];
  atomic = true;

  constructor(rows: number, groups: number, channels: number, layout: SamplingLayout) {
    super('table_gradient', [rows, channels], groups * channels, channels, layout);
  }

  getUserCode(): string {
    return `
      ${this.prelude()}

      fn addTo(index : i32, value : f32) {
        var old = atomicLoad(&result[index]);
        loop {
          let swapped = atomicCompareExchangeWeak(&result[index], old, bitcast<i32>(bitcast<f32>(old) + value));
          if (swapped.exchanged) {
            break;
          }
          old = swapped.old_value;
        }
      }

      fn main(first : i32) {
        for (var item = first; item < uniforms.total; item += ${this.stride}) {
          let g = item / C;
          let c = item - g * C;
          let grad = Dy[item];
          if (grad == 0.0) {
            continue;
          }
          let base = RowBase[g];
          for (var s = 0; s < SAMPLES; s++) {
            let k = g * SAMPLES + s;
            let t = taps(base, s, X[k], Y[k]);
            let share = tapWeights(t) * (Weight[k] * grad);
            for (var i = 0; i < 4; i++) {
              if (share[i] != 0.0) {
                addTo(t.rows[i] * C + c, share[i]);
              }
            }
          }
        }
      }
    `;
  }
}

/**
 * Σ over samples of weight · bilinear sample, differentiable in table, x, y and weight:
 * table [R, C]; rowBase int32 [G] (no gradient); x, y, weight [G, S] with S = levels × pointsPerLevel;
 * x, y normalised to [0, 1] on each level. Returns [G, C]. Call only where samplingKernelsFit.
 */
export function bilinearSampleWeighted(
  table: tf.Tensor2D,
  rowBase: tf.Tensor1D,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  weight: tf.Tensor2D,
  layout: SamplingLayout,
): tf.Tensor2D {
  const [rows, channels] = table.shape;
  const groups = rowBase.shape[0];
  const samples = groups * layout.pointsPerLevel * layout.levels.length;
  const op = tf.customGrad((...args: unknown[]) => {
    const [t, xs, ys, w] = args as tf.Tensor[];
    const save = args[4] as (tensors: tf.Tensor[]) => void;
    save([t, rowBase, xs, ys, w]);
    const value = runProgram(
      new SampleForwardProgram(groups, channels, layout),
      [t, rowBase, xs, ys, w],
      [{ type: 'int32', data: [groups * channels] }],
    );
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [st, sBase, sx, sy, sw] = saved;
        const perSample = runProgram(
          new SampleGradientProgram(samples, channels, layout),
          [st, sBase, sx, sy, sw, dy],
          [{ type: 'int32', data: [samples] }],
        );
        const [dWeight, dx, dyPos] = tf.unstack(perSample).map((g) => tf.reshape(g, sx.shape));
        perSample.dispose();
        const dTable = runAtomicProgram(
          new TableGradientProgram(rows, groups, channels, layout),
          [sBase, sx, sy, sw, dy],
          [{ type: 'int32', data: [groups * channels] }],
        );
        return [dTable, dx, dyPos, dWeight];
      },
    };
  });
  return op(table, x, y, weight) as tf.Tensor2D;
}

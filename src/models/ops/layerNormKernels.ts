/**
 * LayerNorm over the last axis (biased variance) on WebGPU with its own gradient, for training: one
 * dispatch forward, and backward a per-row statistics pass, a per-row ∂x pass and a two-stage column
 * sum for ∂weight and ∂bias, instead of the ~9 forward and ~15 backward elementwise and reduction
 * kernels of nn.ts's composition (the transformer and pixel decoders run ~30 LayerNorms a pass).
 * ∂x = r·(g − mean(g) − x̂·mean(g·x̂)) with g = ∂y·weight, x̂ = (x − μ)·r, r = 1/√(σ² + eps).
 */
import * as tf from '@tensorflow/tfjs';
import { RowProgram, runProgram, type ProgramUniform } from './webgpuProgram';

/** Rows summed per thread in the first stage of ∂weight and ∂bias. */
const ROWS_PER_PARTIAL = 64;

/** WGSL `rowStats(base, channels)`: a row's mean and 1/√(σ² + eps), σ² the biased variance (two passes). */
const ROW_STATS = `
      fn rowStats(base : i32, channels : i32) -> vec2<f32> {
        var sum = 0.0;
        for (var i = 0; i < channels; i++) {
          sum += X[base + i];
        }
        let mean = sum / f32(channels);
        var squares = 0.0;
        for (var i = 0; i < channels; i++) {
          let d = X[base + i] - mean;
          squares += d * d;
        }
        return vec2<f32>(mean, 1.0 / sqrt(squares / f32(channels) + uniforms.eps));
      }
`;

/** Mean, biased variance, then the affine, over the last axis. */
class RowLayerNormProgram extends RowProgram {
  variableNames = ['X', 'W', 'B'];
  shaderKey = 'dearli_row_layer_norm';
  uniforms = 'eps : f32, rows : i32, channels : i32,';

  getUserCode(): string {
    return `
      ${ROW_STATS}
      fn main(row : i32) {
        if (row >= uniforms.rows) {
          return;
        }
        let channels = uniforms.channels;
        let base = row * channels;
        let stats = rowStats(base, channels);
        for (var i = 0; i < channels; i++) {
          setOutputAtIndex(base + i, (X[base + i] - stats.x) * stats.y * W[i] + B[i]);
        }
      }
    `;
  }
}

/** Per row: [mean, 1/√(σ² + eps)]. */
class RowStatsProgram extends RowProgram {
  variableNames = ['X'];
  shaderKey = 'dearli_layer_norm_stats';
  uniforms = 'eps : f32, rows : i32, channels : i32,';

  getUserCode(): string {
    return `
      ${ROW_STATS}
      fn main(row : i32) {
        if (row >= uniforms.rows) {
          return;
        }
        let stats = rowStats(row * uniforms.channels, uniforms.channels);
        setOutputAtIndex(2 * row, stats.x);
        setOutputAtIndex(2 * row + 1, stats.y);
      }
    `;
  }
}

/** ∂x per row from x, its statistics, the weight and ∂y. */
class InputGradientProgram extends RowProgram {
  variableNames = ['X', 'Stats', 'W', 'Dy'];
  shaderKey = 'dearli_layer_norm_input_gradient';
  uniforms = 'rows : i32, channels : i32,';

  getUserCode(): string {
    return `
      fn main(row : i32) {
        if (row >= uniforms.rows) {
          return;
        }
        let channels = uniforms.channels;
        let base = row * channels;
        let mean = Stats[2 * row];
        let r = Stats[2 * row + 1];
        var g = 0.0;
        var gx = 0.0;
        for (var i = 0; i < channels; i++) {
          let gi = Dy[base + i] * W[i];
          g += gi;
          gx += gi * (X[base + i] - mean) * r;
        }
        g /= f32(channels);
        gx /= f32(channels);
        for (var i = 0; i < channels; i++) {
          let xhat = (X[base + i] - mean) * r;
          setOutputAtIndex(base + i, r * (Dy[base + i] * W[i] - g - xhat * gx));
        }
      }
    `;
  }
}

/** Partial column sums over ROWS_PER_PARTIAL rows: out[0, p, c] = Σ ∂y·x̂, out[1, p, c] = Σ ∂y. */
class AffineGradientProgram extends RowProgram {
  variableNames = ['X', 'Stats', 'Dy'];
  shaderKey = 'dearli_layer_norm_affine_gradient';
  uniforms = 'rows : i32, channels : i32, partials : i32,';

  getUserCode(): string {
    return `
      fn main(item : i32) {
        let channels = uniforms.channels;
        if (item >= uniforms.partials * channels) {
          return;
        }
        let p = item / channels;
        let c = item - p * channels;
        let last = min(uniforms.rows, (p + 1) * ${ROWS_PER_PARTIAL});
        var scaled = 0.0;
        var plain = 0.0;
        for (var row = p * ${ROWS_PER_PARTIAL}; row < last; row++) {
          let dy = Dy[row * channels + c];
          scaled += dy * (X[row * channels + c] - Stats[2 * row]) * Stats[2 * row + 1];
          plain += dy;
        }
        setOutputAtIndex(item, scaled);
        setOutputAtIndex(uniforms.partials * channels + item, plain);
      }
    `;
  }
}

/** nn.ts layerNorm on WebGPU (float32 x): one dispatch forward, four backward. */
export function fusedLayerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor, bias: tf.Tensor, eps: number): T {
  const channels = x.shape[x.rank - 1];
  const rows = x.size / channels;
  const shape: ProgramUniform = [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [channels] },
  ];
  const op = tf.customGrad((...args: unknown[]) => {
    const [xs, w, b] = args as tf.Tensor[];
    (args[3] as (tensors: tf.Tensor[]) => void)([xs, w]);
    const value = runProgram(
      new RowLayerNormProgram(xs.shape, rows),
      [xs, w, b],
      [{ type: 'float32', data: [eps] }, ...shape],
    );
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved;
        const partials = Math.ceil(rows / ROWS_PER_PARTIAL);
        return tf.tidy(() => {
          const stats = runProgram(
            new RowStatsProgram([rows, 2], rows),
            [sx],
            [{ type: 'float32', data: [eps] }, ...shape],
          );
          const dx = runProgram(new InputGradientProgram(sx.shape, rows), [sx, stats, sw, dy], shape);
          const partial = runProgram(
            new AffineGradientProgram([2, partials, channels], partials * channels),
            [sx, stats, dy],
            [...shape, { type: 'int32', data: [partials] }],
          );
          const [dw, db] = tf.unstack(tf.sum(partial, 1));
          return [dx, dw, db];
        });
      },
    };
  });
  return op(x, weight, bias) as T;
}

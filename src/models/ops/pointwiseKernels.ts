/**
 * ConvNeXt's pointwise MLP for inference on WebGPU (frozen CLIP towers, no gradients), each half one
 * dispatch: GELU(x·W1 + b1), and x + γ⊙(h·W2 + b2) (layer scale and residual).
 *
 * The product is register-tiled: each thread computes an 8×4 block of the output from vec4 loads of
 * A's rows and B's rows, K four at a time, with no workgroup memory and no barriers. The epilogue
 * (bias, GELU, layer scale, residual) runs on the accumulators, so neither the product nor the
 * 4C-wide pre-activation is written and read back. On SwiftShader this measured 4–6× faster than
 * tfjs's shared-memory tiled fused matMul on ConvNeXt-B's MLP shapes (e.g. [1600, 256]·[256, 1024]),
 * the MLP being ~90 % of ConvNeXt's FLOPs; `npm run bench:clip -- 'unfused=1'` times the composed path.
 *
 * Limits: K and N multiples of 4 and at most MAX_WORKGROUPS workgroups; elsewhere the composed
 * path (tfjs's fused matMul, then inferenceKernels.ts's GELU or convNextKernels.ts's layer scale).
 */
import * as tf from '@tensorflow/tfjs';
import { layerScaleResidual } from './convNextKernels';
import { erfWgsl, geluInference } from './inferenceKernels';
import { linear } from './nn';
import { RowProgram, runProgram } from './webgpuProgram';

/** Output rows per thread (the tile is TILE_ROWS × 4). */
const TILE_ROWS = 8;
/** WebGPU's default maxComputeWorkgroupsPerDimension; RowProgram dispatches 64 threads per workgroup. */
const MAX_WORKGROUPS = 65535;

type Epilogue = 'gelu' | 'scaleResidual';

class PointwiseMatMulProgram extends RowProgram {
  variableNames: string[];
  variableComponents: number[];
  outputComponent = 4;
  shaderKey: string;
  uniforms = 'tiles : i32,';

  constructor(
    private readonly rows: number,
    private readonly inner: number,
    private readonly columns: number,
    private readonly epilogue: Epilogue,
    private readonly hasBias: boolean,
  ) {
    super([rows, columns], tileCount(rows, columns));
    this.variableNames = [
      'A',
      'B',
      ...(hasBias ? ['Bias'] : []),
      ...(epilogue === 'scaleResidual' ? ['Residual', 'Gamma'] : []),
    ];
    this.variableComponents = this.variableNames.map(() => 4);
    this.shaderKey = `dearli_pointwise_${epilogue}_${hasBias}_${rows}_${inner}_${columns}`;
  }

  getUserCode(): string {
    const rows = Array.from({ length: TILE_ROWS }, (_, r) => r);
    const finish =
      this.epilogue === 'gelu'
        ? (r: number) => `let v${r} = acc${r} + bias;
          result[(r0 + ${r}) * NQ + c] = 0.5 * v${r} * (1.0 + erfApprox(v${r} * 0.7071067811865476));`
        : (r: number) => `result[(r0 + ${r}) * NQ + c] = Residual[(r0 + ${r}) * NQ + c] + Gamma[c] * (acc${r} + bias);`;
    return `
      ${this.epilogue === 'gelu' ? erfWgsl('vec4<f32>') : ''}
      const M = ${this.rows};
      const KQ = ${this.inner / 4};
      const NQ = ${this.columns / 4};
      fn main(tile : i32) {
        if (tile >= uniforms.tiles) {
          return;
        }
        let r0 = (tile / NQ) * ${TILE_ROWS};
        let c = tile % NQ;
        ${rows.map((r) => `var acc${r} = vec4<f32>(0.0);`).join('\n        ')}
        ${rows.map((r) => `let row${r} = min(r0 + ${r}, M - 1) * KQ;`).join('\n        ')}
        for (var kq = 0; kq < KQ; kq++) {
          let b0 = B[(4 * kq) * NQ + c];
          let b1 = B[(4 * kq + 1) * NQ + c];
          let b2 = B[(4 * kq + 2) * NQ + c];
          let b3 = B[(4 * kq + 3) * NQ + c];
          ${rows
            .map(
              (r) => `let a${r} = A[row${r} + kq];
          acc${r} += a${r}.x * b0 + a${r}.y * b1 + a${r}.z * b2 + a${r}.w * b3;`,
            )
            .join('\n          ')}
        }
        let bias = ${this.hasBias ? 'Bias[c]' : 'vec4<f32>(0.0)'};
        ${rows.map((r) => `if (r0 + ${r} < M) {\n          ${finish(r)}\n        }`).join('\n        ')}
      }
    `;
  }
}

const tileCount = (rows: number, columns: number) => Math.ceil(rows / TILE_ROWS) * (columns / 4);

function tiled(x: tf.Tensor, weight: tf.Tensor2D): boolean {
  const [inner, columns] = weight.shape;
  const rows = x.size / inner;
  return (
    tf.getBackend() === 'webgpu' &&
    inner % 4 === 0 &&
    columns % 4 === 0 &&
    Math.ceil(tileCount(rows, columns) / 64) <= MAX_WORKGROUPS
  );
}

function run(
  epilogue: Epilogue,
  x: tf.Tensor,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  inputs: tf.Tensor[],
): tf.Tensor {
  const [inner, columns] = weight.shape;
  const rows = x.size / inner;
  const program = new PointwiseMatMulProgram(rows, inner, columns, epilogue, bias !== undefined);
  const tensors = [x, weight, ...(bias ? [bias] : []), ...inputs];
  const y = runProgram(program, tensors, [{ type: 'int32', data: [tileCount(rows, columns)] }]);
  return tf.reshape(y, [...x.shape.slice(0, -1), columns]);
}

/** GELU(x·W + b) over the last axis (W [in, out]); exact GELU as geluInference. */
export function linearGelu<T extends tf.Tensor>(x: T, weight: tf.Tensor2D, bias?: tf.Tensor1D): T {
  if (!tiled(x, weight)) return tf.tidy(() => geluInference(linear(x, weight, bias))) as T;
  return tf.tidy(() => run('gelu', x, weight, bias, [])) as T;
}

/** residual + γ⊙(h·W + b) over the last axis (W [in, out], γ [out]): ConvNeXt's MLP output. */
export function linearScaleResidual<T extends tf.Tensor>(
  residual: T,
  h: tf.Tensor,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  gamma: tf.Tensor1D,
): T {
  if (!tiled(h, weight)) return tf.tidy(() => layerScaleResidual(residual, linear(h, weight, bias), gamma));
  return tf.tidy(() => run('scaleResidual', h, weight, bias, [residual, gamma])) as T;
}

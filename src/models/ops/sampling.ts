/**
 * Bilinear point sampling built from gathers, the stand-in for torch grid_sample
 * (align_corners=False, padding_mode="zeros"), which tfjs lacks. Values are differentiable through
 * gather (its gradient is unsortedSegmentSum); sample positions through the bilinear weights. Tap
 * indices and the in-bounds test are computed on detached copies, so int32 indices never reach the
 * tape.
 */
import * as tf from '@tensorflow/tfjs';
import { detach } from './gradients';
import { bilinearSampleWeighted, samplingKernelsFit, type SamplingLayout } from './samplingKernels';

export interface BilinearTaps {
  /** int32 [M, 4]: rows of the sampled table for the four neighbours (clamped into the plane). */
  indices: tf.Tensor2D;
  /** [M, 4]: bilinear weights, 0 for neighbours outside the plane (zero padding). */
  weights: tf.Tensor2D;
  /** The broadcast shape of the inputs; M is its element count. */
  shape: number[];
}

/**
 * Taps for points (x, y) in normalised [0, 1] image coordinates (grid_sample's (g + 1) / 2) on
 * height×width planes whose pixels are rows rowOffset + y·width + x of a table. height, width and
 * rowOffset (int32) may be tensors broadcasting against x and y (several levels in one call).
 */
export function bilinearTaps(
  x: tf.Tensor,
  y: tf.Tensor,
  height: number | tf.Tensor,
  width: number | tf.Tensor,
  rowOffset: number | tf.Tensor = 0,
): BilinearTaps {
  return tf.tidy(() => {
    const offset = typeof rowOffset === 'number' ? tf.scalar(rowOffset, 'int32') : rowOffset;
    const px = tf.sub(tf.mul(x, width), 0.5);
    const py = tf.sub(tf.mul(y, height), 0.5);
    const x0 = tf.floor(detach(px));
    const y0 = tf.floor(detach(py));
    const fx = tf.sub(px, x0);
    const fy = tf.sub(py, y0);
    const gx = [tf.sub(1, fx), fx];
    const gy = [tf.sub(1, fy), fy];
    const maxX = tf.sub(width, 1);
    const maxY = tf.sub(height, 1);
    const weights: tf.Tensor[] = [];
    const indices: tf.Tensor[] = [];
    let shape: number[] = [];
    for (const dy of [0, 1]) {
      for (const dx of [0, 1]) {
        const cx = tf.add(x0, dx);
        const cy = tf.add(y0, dy);
        const inside = tf.cast(
          tf.logicalAnd(
            tf.logicalAnd(tf.greaterEqual(cx, 0), tf.lessEqual(cx, maxX)),
            tf.logicalAnd(tf.greaterEqual(cy, 0), tf.lessEqual(cy, maxY)),
          ),
          'float32',
        );
        const w = tf.mul(tf.mul(gx[dx], gy[dy]), inside);
        const row = tf.add(tf.mul(tf.minimum(tf.maximum(cy, 0), maxY), width), tf.minimum(tf.maximum(cx, 0), maxX));
        const index = tf.add(tf.cast(row, 'int32'), offset);
        shape = tf.backend_util.assertAndGetBroadcastShape(index.shape, w.shape);
        weights.push(tf.reshape(tf.broadcastTo(w, shape), [-1, 1]));
        indices.push(tf.reshape(tf.broadcastTo(index, shape), [-1, 1]));
      }
    }
    return { indices: tf.concat(indices, 1) as tf.Tensor2D, weights: tf.concat(weights, 1) as tf.Tensor2D, shape };
  });
}

/** Σ over the four taps of weight · table[index]: table [R, D] → [M, D]. */
export function gatherBilinear(table: tf.Tensor2D, taps: BilinearTaps): tf.Tensor2D {
  return tf.tidy(() => {
    const d = table.shape[1];
    const rows = tf.reshape(tf.gather(table, tf.reshape(taps.indices, [-1])), [-1, 4, d]);
    return tf.sum(tf.mul(rows, tf.expandDims(taps.weights, -1)), 1) as tf.Tensor2D;
  });
}

/**
 * point_sample for a stack of single-channel planes [N, H, W] at normalised points x, y. With
 * `planeIndex` (int32, broadcasting against x) each point reads the given plane; without it x and
 * y are [N, P] and row i reads plane i. Returns the broadcast shape of the points. On WebGPU one
 * sampling kernel each way (samplingKernels.ts), elsewhere gathers.
 */
export function samplePlanes(planes: tf.Tensor3D, x: tf.Tensor, y: tf.Tensor, planeIndex?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [n, h, w] = planes.shape;
    const table = tf.reshape(planes, [n * h * w, 1]) as tf.Tensor2D;
    const layout: SamplingLayout = { levels: [{ height: h, width: w, start: 0 }], pointsPerLevel: 1 };
    if (samplingKernelsFit(table, layout)) {
      const shape = tf.backend_util.assertAndGetBroadcastShape(
        tf.backend_util.assertAndGetBroadcastShape(x.shape, y.shape),
        planeIndex?.shape ?? [],
      );
      const points = shape.reduce((a, d) => a * d, 1);
      const plane = planeIndex ?? tf.reshape(tf.range(0, n, 1, 'int32'), [n, 1]);
      const planeSize = tf.scalar(h * w, 'int32');
      const rowBase = tf.reshape(tf.add(tf.mul(plane, planeSize), tf.zeros(shape, 'int32')), [points]) as tf.Tensor1D;
      const column = (t: tf.Tensor) => tf.reshape(tf.broadcastTo(t, shape), [points, 1]) as tf.Tensor2D;
      const ones = tf.ones([points, 1]) as tf.Tensor2D;
      return tf.reshape(bilinearSampleWeighted(table, rowBase, column(x), column(y), ones, layout), shape);
    }
    const offsets = planeIndex
      ? tf.mul(planeIndex, tf.scalar(h * w, 'int32'))
      : tf.reshape(tf.range(0, n * h * w, h * w, 'int32'), [n, 1]);
    const taps = bilinearTaps(x, y, h, w, offsets);
    return tf.reshape(gatherBilinear(table, taps), taps.shape);
  });
}

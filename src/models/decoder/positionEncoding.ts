/**
 * Mask2Former's PositionEmbeddingSine (normalize=True, scale 2π, temperature 10000): per axis,
 * cumulative positions 1..n divided by n (+1e-6), channels [sin, cos] interleaved, [pos_y, pos_x]
 * concatenated. A constant of the map size, built on the CPU once per size.
 */
import * as tf from '@tensorflow/tfjs';

const cache = new Map<string, Float32Array>();

function sinePositionValues(height: number, width: number, featuresPerAxis: number): Float32Array {
  const key = `${height}x${width}x${featuresPerAxis}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const eps = 1e-6;
  const scale = 2 * Math.PI;
  const out = new Float32Array(height * width * 2 * featuresPerAxis);
  const dimT = Array.from({ length: featuresPerAxis }, (_, i) => 10000 ** ((2 * Math.floor(i / 2)) / featuresPerAxis));
  for (let y = 0; y < height; y++) {
    const ye = ((y + 1) / (height + eps)) * scale;
    for (let x = 0; x < width; x++) {
      const xe = ((x + 1) / (width + eps)) * scale;
      const base = (y * width + x) * 2 * featuresPerAxis;
      for (let i = 0; i < featuresPerAxis; i++) {
        const f = i % 2 === 0 ? Math.sin : Math.cos;
        out[base + i] = f(ye / dimT[i]);
        out[base + featuresPerAxis + i] = f(xe / dimT[i]);
      }
    }
  }
  cache.set(key, out);
  return out;
}

/** [H·W, 2·featuresPerAxis], row-major over (y, x). */
export function sinePosition(height: number, width: number, featuresPerAxis: number): tf.Tensor2D {
  return tf.tensor2d(sinePositionValues(height, width, featuresPerAxis), [height * width, 2 * featuresPerAxis]);
}

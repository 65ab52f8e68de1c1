import { describe, expect, it } from 'vitest';
import { torchToTfjs } from './layout';

describe('PyTorch → tfjs layout', () => {
  it('transposes a Linear weight [out, in] to [in, out]', () => {
    // [[1, 2, 3], [4, 5, 6]] → [[1, 4], [2, 5], [3, 6]]
    expect(torchToTfjs('linear', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6))).toEqual({
      shape: [3, 2],
      data: Float32Array.of(1, 4, 2, 5, 3, 6),
    });
  });

  it('moves a conv weight [out, in, kh, kw] to [kh, kw, in, out]', () => {
    // out 2, in 1, 1×2 kernel: w[o][0][0][x] = 10·o + x → hwio[0][x][0][o]
    const { shape, data } = torchToTfjs('conv', [2, 1, 1, 2], Float32Array.of(0, 1, 10, 11));
    expect(shape).toEqual([1, 2, 1, 2]);
    expect(Array.from(data)).toEqual([0, 10, 1, 11]);
  });

  it('moves a depthwise weight [channels, 1, kh, kw] to [kh, kw, channels, 1]', () => {
    const { shape, data } = torchToTfjs('depthwise', [2, 1, 2, 1], Float32Array.of(0, 1, 10, 11));
    expect(shape).toEqual([2, 1, 2, 1]);
    expect(Array.from(data)).toEqual([0, 10, 1, 11]);
  });

  it('keeps biases, norms and embeddings as stored', () => {
    const data = Float32Array.of(1, 2, 3);
    expect(torchToTfjs('keep', [3], data)).toEqual({ shape: [3], data });
  });
});

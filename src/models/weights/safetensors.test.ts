import { describe, expect, it } from 'vitest';
import { SafetensorsFile, writeSafetensors } from './safetensors';

function fileFromHeader(header: unknown, dataBytes: number): Blob {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return new Blob([out]);
}

describe('safetensors', () => {
  it('round-trips F32, I32 and U8 tensors with metadata', async () => {
    const bytes = writeSafetensors(
      {
        'a.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 4, 5, 6]) },
        ids: { dtype: 'I32', shape: [3], data: Int32Array.from([7, -8, 9]) },
        mask: { dtype: 'U8', shape: [5], data: Uint8Array.from([0, 1, 2, 3, 255]) },
      },
      { format: 'pt' },
    );
    const f = await SafetensorsFile.open(new Blob([bytes as BlobPart]), 'x.safetensors');
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(f.names.sort()).toEqual(['a.weight', 'ids', 'mask']);
    expect(Array.from((await f.read('a.weight')).data)).toEqual([1, -2, 3.5, 4, 5, 6]);
    expect(Array.from((await f.read('ids')).data)).toEqual([7, -8, 9]);
    expect(Array.from((await f.read('mask')).data)).toEqual([0, 1, 2, 3, 255]);
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
  });

  it('widens F16 and BF16 to float32', async () => {
    // 1.0, -2.0, 0.5 in half precision; 1.0, -2.0 in bfloat16.
    const half = Uint16Array.from([0x3c00, 0xc000, 0x3800]);
    const bf = Uint16Array.from([0x3f80, 0xc000]);
    const header = {
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
    };
    const blob = fileFromHeader(header, 10);
    const buf = new Uint8Array(await blob.arrayBuffer());
    const dataStart = buf.length - 10;
    buf.set(new Uint8Array(half.buffer), dataStart);
    buf.set(new Uint8Array(bf.buffer), dataStart + 6);
    const f = await SafetensorsFile.open(new Blob([buf]), 'half.safetensors');
    expect(Array.from((await f.read('h')).data)).toEqual([1, -2, 0.5]);
    expect(Array.from((await f.read('b')).data)).toEqual([1, -2]);
  });

  it.each([
    ['a truncated file', fileFromHeader({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /truncated/],
    ['an unknown dtype', fileFromHeader({ t: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, 8), /dtype "C64"/],
    [
      'a size that does not match the shape',
      fileFromHeader({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8),
      /needs 12/,
    ],
    [
      'overlapping tensors',
      fileFromHeader(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        12,
      ),
      /overlap/,
    ],
    ['a corrupt header', new Blob([Uint8Array.from([4, 0, 0, 0, 0, 0, 0, 0, 123, 34, 120, 125])]), /not valid JSON/],
    ['a header longer than the file', new Blob([Uint8Array.from([255, 0, 0, 0, 0, 0, 0, 0, 123])]), /truncated/],
  ])('refuses %s with a message naming the file', async (_what, blob, pattern) => {
    await expect(SafetensorsFile.open(blob, 'bad.safetensors')).rejects.toThrow(pattern);
    await expect(SafetensorsFile.open(blob, 'bad.safetensors')).rejects.toThrow(/bad\.safetensors/);
  });

  it('names a missing tensor', async () => {
    const f = await SafetensorsFile.open(
      new Blob([writeSafetensors({ a: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } }) as BlobPart]),
      'w.safetensors',
    );
    await expect(f.read('b')).rejects.toThrow(/"b" is not in the file/);
  });
});

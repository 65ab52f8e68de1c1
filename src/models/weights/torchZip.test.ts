import { BlobWriter, Uint8ArrayReader, ZipWriter } from '@zip.js/zip.js';
import { describe, expect, it } from 'vitest';
import { DearliError } from '../../core/errors';
import { writeSafetensors } from './safetensors';
import { openTensorSource } from './tensorSource';
import { TorchZipFile } from './torchZip';

/** Writes pickle opcodes by hand, the way torch.save (protocol 2) lays out a state dict. */
class PickleWriter {
  private readonly bytes: number[] = [];
  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  text(s: string): this {
    return this.raw(...new TextEncoder().encode(s));
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return b.length < 256 ? this.raw(0x8c, b.length, ...b) : this.raw(0x58, b.length & 255, (b.length >> 8) & 255, 0, 0, ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 255, n >> 8);
    const v = new DataView(new ArrayBuffer(4));
    v.setInt32(0, n, true);
    return this.raw(0x4a, ...new Uint8Array(v.buffer));
  }
  global(module: string, name: string): this {
    return this.raw(0x63).text(`${module}\n${name}\n`);
  }
  ints(values: number[]): this {
    this.raw(0x28);
    for (const v of values) this.int(v);
    return this.raw(0x74);
  }
  /** `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`; `storage` writes the storage ref. */
  tensor(storage: (p: this) => void, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').raw(0x28);
    storage(this);
    this.int(offset).ints(size).ints(stride).raw(0x89).global('collections', 'OrderedDict').raw(0x29, 0x52);
    return this.raw(0x74, 0x52);
  }
  persistentStorage(type: string, key: string, numel: number, memo: number): this {
    return this.raw(0x28).str('storage').global('torch', type).str(key).str('cpu').int(numel).raw(0x74, 0x51, 0x71, memo);
  }
  done(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]);
  }
}

function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

async function torchZip(files: Record<string, Uint8Array>, compressPickle = false): Promise<Blob> {
  const zip = new ZipWriter(new BlobWriter('application/zip'), { useWebWorkers: false });
  for (const [name, bytes] of Object.entries(files)) {
    await zip.add(name, new Uint8ArrayReader(bytes), { level: compressPickle && name.endsWith('.pkl') ? 6 : 0 });
  }
  return zip.close();
}

/** OrderedDict {w: Parameter [2,3], wt: w transposed (view), tail: elements 4..5 of w's storage, h: fp16 [2], ids: int64 [2]}. */
function stateDictPickle(): Uint8Array {
  const p = new PickleWriter().raw(0x80, 0x02).global('collections', 'OrderedDict').raw(0x29, 0x52, 0x71, 0x00, 0x28);
  p.str('w').global('torch._utils', '_rebuild_parameter');
  p.tensor((q) => q.persistentStorage('FloatStorage', '0', 6, 1), 0, [2, 3], [3, 1]);
  p.raw(0x88).global('collections', 'OrderedDict').raw(0x29, 0x52, 0x87, 0x52);
  p.str('wt').tensor((q) => q.raw(0x68, 1), 0, [3, 2], [1, 3]);
  p.str('tail').tensor((q) => q.raw(0x68, 1), 4, [2], [1]);
  p.str('h').tensor((q) => q.persistentStorage('HalfStorage', '1', 2, 2), 0, [2], [1]);
  p.str('ids').tensor((q) => q.persistentStorage('LongStorage', '2', 2, 3), 0, [2], [1]);
  p.raw(0x75); // SETITEMS
  // state_dict._metadata arrives through BUILD, as torch writes it.
  p.raw(0x7d).str('_metadata').global('collections', 'OrderedDict').raw(0x29, 0x52).raw(0x73, 0x62);
  return p.done();
}

function stateDictFiles(pickle = stateDictPickle()): Record<string, Uint8Array> {
  return {
    'archive/data.pkl': pickle,
    'archive/byteorder': new TextEncoder().encode('little'),
    'archive/data/0': f32([0, 1, 2, 3, 4, 5]),
    'archive/data/1': new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer),
    'archive/data/2': new Uint8Array(BigInt64Array.from([7n, -3n]).buffer),
    'archive/version': new TextEncoder().encode('3\n'),
  };
}

/** An archive Blob that refuses to be read whole: every read must go through slice(). */
class SliceOnlyBlob extends Blob {
  override arrayBuffer(): Promise<ArrayBuffer> {
    throw new Error('the whole archive was read into memory');
  }
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    throw new Error('the whole archive was streamed');
  }
}

describe('TorchZipFile', () => {
  it('reads parameters, strided views, storage offsets, fp16 and int64 storages through Blob slices', async () => {
    // An unused 1 MB storage makes the archive larger than zip.js's end-of-archive probe.
    const zip = await torchZip({ ...stateDictFiles(), 'archive/data/9': new Uint8Array(1 << 20) });
    const file = await TorchZipFile.open(new SliceOnlyBlob([zip]), 'open_clip_pytorch_model.bin');
    expect(file.names).toEqual(['w', 'wt', 'tail', 'h', 'ids']);
    expect(file.shape('wt')).toEqual([3, 2]);
    const w = await file.read('w');
    expect(w.dtype).toBe('F32');
    expect(Array.from(w.data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from((await file.read('wt')).data)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from((await file.read('tail')).data)).toEqual([4, 5]);
    expect(Array.from((await file.read('h')).data)).toEqual([1, -2]);
    const ids = await file.read('ids');
    expect(ids.data).toBeInstanceOf(Int32Array);
    expect(Array.from(ids.data)).toEqual([7, -3]);
  });

  it('reads a deflated data.pkl too', async () => {
    const file = await TorchZipFile.open(await torchZip(stateDictFiles(), true), 'm.bin');
    expect(Array.from((await file.read('wt')).data)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it.each([
    ['GLOBAL os.system', new PickleWriter().raw(0x80, 0x02).global('os', 'system').str('echo pwned').raw(0x85, 0x52).done(), /"os\.system"/],
    ['STACK_GLOBAL builtins.eval', new PickleWriter().raw(0x80, 0x04).str('builtins').str('eval').raw(0x93).str('1+1').raw(0x85, 0x52).done(), /"builtins\.eval"/],
    ['torch.constructor (an Object.prototype name)', new PickleWriter().raw(0x80, 0x02).global('torch', 'constructor').done(), /"torch\.constructor"/],
    ['torch._utils._rebuild_device_tensor_from_numpy', new PickleWriter().raw(0x80, 0x02).global('torch._utils', '_rebuild_device_tensor_from_numpy').done(), /_rebuild_device_tensor_from_numpy/],
  ])('refuses a pickle that asks for %s, by name, without running it', async (_what, pickle, pattern) => {
    const zip = await torchZip({ ...stateDictFiles(), 'archive/data.pkl': pickle });
    const err = await TorchZipFile.open(zip, 'evil.bin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DearliError);
    expect((err as DearliError).code).toBe('weights-unsafe');
    expect((err as DearliError).message).toMatch(pattern);
    expect((err as DearliError).message).toMatch(/^evil\.bin: /);
  });

  it.each([
    ['a storage shorter than its tensors', { 'archive/data/0': f32([0, 1, 2]) }, /storage 0 has 12 bytes/],
    ['a missing storage', { 'archive/data/2': undefined }, /needs storage 2/],
    ['no data.pkl', { 'archive/data.pkl': undefined }, /no data\.pkl/],
    ['a big-endian checkpoint', { 'archive/byteorder': new TextEncoder().encode('big') }, /big-endian/],
  ])('refuses %s', async (_what, change, pattern) => {
    const files: Record<string, Uint8Array> = { ...stateDictFiles() };
    for (const [k, v] of Object.entries(change)) {
      if (v) files[k] = v;
      else delete files[k];
    }
    await expect(TorchZipFile.open(await torchZip(files), 'bad.bin')).rejects.toThrow(pattern);
  });

  it('refuses a view that reaches past its storage and a legacy (non-zip) checkpoint', async () => {
    const p = new PickleWriter().raw(0x80, 0x02, 0x7d, 0x28).str('x').tensor((q) => q.persistentStorage('FloatStorage', '0', 6, 1), 3, [2, 2], [2, 1]).raw(0x75);
    await expect(TorchZipFile.open(await torchZip(stateDictFiles(p.done())), 'bad.bin')).rejects.toThrow(/reaches element 6 of a storage with 6/);
    await expect(TorchZipFile.open(new Blob([Uint8Array.from([0x80, 0x02, 0x8a, 0x0a])]), 'old.bin')).rejects.toThrow(/not a zip archive/);
  });
});

describe('openTensorSource', () => {
  it('opens a torch zip and a safetensors file behind the same interface', async () => {
    const st = writeSafetensors({ wt: { dtype: 'F32', shape: [3, 2], data: Float32Array.from([0, 3, 1, 4, 2, 5]) } });
    const sources = [await openTensorSource(await torchZip(stateDictFiles()), 'a.bin'), await openTensorSource(new Blob([st as BlobPart]), 'a.safetensors')];
    for (const source of sources) {
      expect(source.has('wt')).toBe(true);
      expect(source.shape('wt')).toEqual([3, 2]);
      const t = await source.read('wt');
      expect(t.shape).toEqual([3, 2]);
      expect(Array.from(t.data)).toEqual([0, 3, 1, 4, 2, 5]);
    }
    expect(sources[0]).toBeInstanceOf(TorchZipFile);
    expect(sources[1].names).toEqual(['wt']);
  });
});

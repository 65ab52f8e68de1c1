import { describe, expect, it } from 'vitest';
import { f32, PickleWriter, stateDictFiles, torchZip } from '../../../test/hostile';
import { DearliError } from '../../core/errors';
import { writeSafetensors } from './safetensors';
import { openTensorSource } from './tensorSource';
import { TorchZipFile } from './torchZip';

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
    [
      'GLOBAL os.system',
      new PickleWriter().raw(0x80, 0x02).global('os', 'system').str('echo pwned').raw(0x85, 0x52).done(),
      /"os\.system"/,
    ],
    [
      'STACK_GLOBAL builtins.eval',
      new PickleWriter().raw(0x80, 0x04).str('builtins').str('eval').raw(0x93).str('1+1').raw(0x85, 0x52).done(),
      /"builtins\.eval"/,
    ],
    [
      'torch.constructor (an Object.prototype name)',
      new PickleWriter().raw(0x80, 0x02).global('torch', 'constructor').done(),
      /"torch\.constructor"/,
    ],
    [
      'torch._utils._rebuild_device_tensor_from_numpy',
      new PickleWriter().raw(0x80, 0x02).global('torch._utils', '_rebuild_device_tensor_from_numpy').done(),
      /_rebuild_device_tensor_from_numpy/,
    ],
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
    const p = new PickleWriter()
      .raw(0x80, 0x02, 0x7d, 0x28)
      .str('x')
      .tensor((q) => q.persistentStorage('FloatStorage', '0', 6, 1), 3, [2, 2], [2, 1])
      .raw(0x75);
    await expect(TorchZipFile.open(await torchZip(stateDictFiles(p.done())), 'bad.bin')).rejects.toThrow(
      /reaches element 6 of a storage with 6/,
    );
    await expect(TorchZipFile.open(new Blob([Uint8Array.from([0x80, 0x02, 0x8a, 0x0a])]), 'old.bin')).rejects.toThrow(
      /not a zip archive/,
    );
  });
});

describe('openTensorSource', () => {
  it('opens a torch zip and a safetensors file behind the same interface', async () => {
    const st = writeSafetensors({ wt: { dtype: 'F32', shape: [3, 2], data: Float32Array.from([0, 3, 1, 4, 2, 5]) } });
    const sources = [
      await openTensorSource(await torchZip(stateDictFiles()), 'a.bin'),
      await openTensorSource(new Blob([st as BlobPart]), 'a.safetensors'),
    ];
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

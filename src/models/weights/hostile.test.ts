/**
 * Issue 13, weight files: every hostile input found ends in a DearliError naming the file (or in
 * correct data) within 2 s and 256 MB of extra memory.
 */
import { describe, expect, it } from 'vitest';
import {
  bounded,
  f32,
  HOSTILE_BUDGET,
  namedErrorOf,
  PickleWriter,
  rawZip,
  stateDictFiles,
  type RawZipEntry,
} from '../../../test/hostile';
import { LIMITS } from '../../core/limits';
import { CONVNEXT_BASE_W } from '../clip/config';
import { clipWeightSpecs, loadClipWeights } from '../clip/weights';
import { SafetensorsFile } from './safetensors';
import { TorchZipFile } from './torchZip';

/** Opens a torch zip and reads every tensor. */
async function openAndReadAll(zip: Uint8Array | Blob, name: string): Promise<Map<string, number[]>> {
  const file = await TorchZipFile.open(zip instanceof Blob ? zip : new Blob([zip as BlobPart]), name);
  const out = new Map<string, number[]>();
  for (const n of file.names) out.set(n, Array.from((await file.read(n)).data));
  return out;
}

async function expectRefused(run: () => Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  const outcome = await bounded(run);
  const err = namedErrorOf(outcome, file);
  expect(err.message).toMatch(pattern);
  expect(outcome.cpuMs).toBeLessThan(HOSTILE_BUDGET.cpuMs);
  expect(outcome.extraBytes).toBeLessThan(HOSTILE_BUDGET.bytes);
}

/** A stored-entry torch zip around `pickle` with storage "0" of six floats 0..5 (or `storage`). */
function checkpoint(pickle: Uint8Array, extra: RawZipEntry[] = [], storage?: RawZipEntry): Uint8Array {
  return rawZip([
    { name: 'archive/data.pkl', data: pickle, method: 0 },
    storage ?? { name: 'archive/data/0', data: f32([0, 1, 2, 3, 4, 5]), method: 0 },
    ...extra,
  ]);
}

/** `{name: tensor}` over storage "0" (FloatStorage of `numel`) with the given view. */
function oneTensor(shape: number[], stride: number[], numel = 6, storage = 'FloatStorage', offset = 0): Uint8Array {
  return new PickleWriter()
    .raw(0x80, 0x02, 0x7d, 0x28)
    .str('t')
    .tensor((q) => q.persistentStorage(storage, '0', numel, 1), offset, shape, stride)
    .raw(0x75)
    .done();
}

const zeros = (bytes: number) => new Uint8Array(bytes);

describe('torch zip and pickle (issue 13)', () => {
  it('walks a DAG of shared dicts once: 2^40 paths open in milliseconds, with the one tensor', async () => {
    const p = new PickleWriter()
      .raw(0x80, 0x02, 0x7d, 0x28)
      .str('x')
      .tensor((q) => q.persistentStorage('FloatStorage', '0', 6, 200), 0, [6], [1])
      .raw(0x75, 0x71, 0);
    for (let i = 1; i <= 40; i++)
      p.raw(0x7d, 0x28)
        .str('a')
        .raw(0x68, i - 1)
        .str('b')
        .raw(0x68, i - 1)
        .raw(0x75, 0x71, i);
    const outcome = await bounded(() => openAndReadAll(checkpoint(p.done()), 'dag.bin'));
    expect(outcome.error).toBeUndefined();
    expect([...outcome.value!.entries()]).toEqual([[`${'a.'.repeat(40)}x`, [0, 1, 2, 3, 4, 5]]]);
    expect(outcome.cpuMs).toBeLessThan(HOSTILE_BUDGET.cpuMs);
  });

  it('refuses a dict that contains itself and dicts nested 100,000 deep, without overflowing the stack', async () => {
    const cyclic = new PickleWriter().raw(0x80, 0x02, 0x7d, 0x71, 0).str('self').raw(0x68, 0, 0x73).done();
    await expectRefused(() => openAndReadAll(checkpoint(cyclic), 'cycle.bin'), 'cycle.bin', /contains itself/);
    const deep = new PickleWriter().raw(0x80, 0x02, 0x7d);
    for (let i = 0; i < 100_000; i++) deep.str('k').raw(0x7d);
    for (let i = 0; i < 100_000; i++) deep.raw(0x73);
    await expectRefused(
      () => openAndReadAll(checkpoint(deep.done()), 'deep.bin'),
      'deep.bin',
      /nests dicts too deeply.*pickleNesting/,
    );
  });

  it('refuses a deflated storage that inflates 1000:1 before inflating it (the checkpoint bomb)', async () => {
    const bomb = checkpoint(oneTensor([4 * 1024 * 1024], [1], 4 * 1024 * 1024), [], {
      name: 'archive/data/0',
      data: zeros(16 * 1024 * 1024),
    });
    expect(bomb.length).toBeLessThan(200_000);
    await expectRefused(() => openAndReadAll(bomb, 'bomb.bin'), 'bomb.bin', /zip bomb.*zipInflateRatio/);
  });

  it('stops inflating a storage at its declared 24 bytes when it really inflates to 16 MiB', async () => {
    const forged = checkpoint(oneTensor([6], [1]), [], {
      name: 'archive/data/0',
      data: zeros(16 * 1024 * 1024),
      declaredSize: 24,
    });
    await expectRefused(
      () => openAndReadAll(forged, 'forged.bin'),
      'forged.bin',
      /inflates past the 24 bytes|Invalid uncompressed size/,
    );
  });

  it('refuses forged stored sizes: a [1024] tensor over 24 stored bytes never reads back 6 values', async () => {
    const body = f32([0, 1, 2, 3, 4, 5]);
    const pickle = oneTensor([1024], [1], 1024);
    await expectRefused(
      () =>
        openAndReadAll(
          checkpoint(pickle, [], { name: 'archive/data/0', data: body, method: 0, declaredSize: 4096 }),
          'a.bin',
        ),
      'a.bin',
      /declares 24 stored and 4096 actual/,
    );
    const both = checkpoint(pickle, [{ name: 'archive/version', data: new TextEncoder().encode('3\n'), method: 0 }], {
      name: 'archive/data/0',
      data: body,
      method: 0,
      declaredSize: 4096,
      declaredCompressedSize: 4096,
    });
    await expectRefused(() => openAndReadAll(both, 'b.bin'), 'b.bin', /run into the next entry|runs past the end/);
  });

  it('refuses a stride-0 16384×16384 view of one float before allocating 1 GiB', async () => {
    await expectRefused(
      () =>
        openAndReadAll(
          checkpoint(oneTensor([16384, 16384], [0, 0], 1), [], { name: 'archive/data/0', data: f32([7]), method: 0 }),
          'view.bin',
        ),
      'view.bin',
      /more elements than its storage/,
    );
    await expectRefused(
      () => openAndReadAll(checkpoint(oneTensor([3, 2], [1, 1])), 'overlap.bin'),
      'overlap.bin',
      /reads some stored values twice/,
    );
  });

  it('refuses negative shapes and int64 values outside int32 by name', async () => {
    await expectRefused(
      () => openAndReadAll(checkpoint(oneTensor([-2, 3], [3, 1])), 'neg.bin'),
      'neg.bin',
      /negative size \[-2, 3\]/,
    );
    const big = checkpoint(oneTensor([2], [1], 2, 'LongStorage'), [], {
      name: 'archive/data/0',
      data: new Uint8Array(BigInt64Array.from([1n, 1n << 40n]).buffer),
      method: 0,
    });
    await expectRefused(
      () => openAndReadAll(big, 'int64.bin'),
      'int64.bin',
      /int64 value 1099511627776 at index 1, outside the int32 range/,
    );
  });

  it('names bad UTF-8, encrypted, bzip2 and ambiguous entries', async () => {
    const files = stateDictFiles();
    const entries = (): RawZipEntry[] => Object.entries(files).map(([name, data]) => ({ name, data, method: 0 }));
    const badString = new PickleWriter()
      .raw(0x80, 0x02, 0x7d, 0x28, 0x8c, 2, 0xff, 0xfe)
      .tensor((q) => q.persistentStorage('FloatStorage', '0', 6, 1), 0, [6], [1])
      .raw(0x75)
      .done();
    const cases: [string, RawZipEntry[], RegExp][] = [
      [
        'utf8.bin',
        entries().map((e) => (e.name === 'archive/data.pkl' ? { ...e, data: badString } : e)),
        /not valid UTF-8/,
      ],
      ['encrypted.bin', entries().map((e) => (e.name === 'archive/data/0' ? { ...e, flags: 0x0801 } : e)), /encrypted/],
      [
        'bzip2.bin',
        entries().map((e) => (e.name === 'archive/data/0' ? { ...e, method: 12 } : e)),
        /compression method 12/,
      ],
      [
        'twice.bin',
        [...entries(), { name: 'archive/data/0', data: zeros(24), method: 0 }],
        /holds "archive\/data\/0" twice/,
      ],
      [
        'two-pickles.bin',
        [...entries(), { name: 'other/data.pkl', data: files['archive/data.pkl'], method: 0 }],
        /2 data\.pkl files/,
      ],
    ];
    for (const [name, zip, pattern] of cases)
      await expectRefused(() => openAndReadAll(rawZip(zip), name), name, pattern);
  });

  it('reads a checkpoint whose unused entry has a name that is not UTF-8 (correct data)', async () => {
    const badName = Uint8Array.from([...new TextEncoder().encode('archive/extra/'), 0xff, 0xfe]);
    const zip = rawZip([
      ...Object.entries(stateDictFiles()).map(([name, data]) => ({ name, data, method: 0 })),
      { name: badName, data: zeros(4), method: 0 },
    ]);
    const outcome = await bounded(() => openAndReadAll(zip, 'names.bin'));
    expect(outcome.value!.get('wt')).toEqual([0, 3, 1, 4, 2, 5]);
  });
});

describe('safetensors (issue 13)', () => {
  const file = (header: string | Uint8Array, data = new Uint8Array(0)): Blob => {
    const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(h.length), true);
    return new Blob([len, h as BlobPart, data as BlobPart]);
  };
  const t = (offsets: [number, number], shape: unknown = [offsets[1] / 4 - offsets[0] / 4]) => ({
    dtype: 'F32',
    shape,
    data_offsets: offsets,
  });

  it.each([
    [
      'a duplicate tensor name',
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      8,
      /names "a" twice/,
    ],
    ['the shape [0, 1e300]', JSON.stringify({ a: t([0, 0], [0, 1e300]) }), 0, /invalid shape/],
    [
      'a non-string __metadata__',
      JSON.stringify({ __metadata__: { k: 1 }, a: t([0, 4]) }),
      4,
      /__metadata__.*not a map of strings/,
    ],
    ['__metadata__ as a list', JSON.stringify({ __metadata__: ['x'], a: t([0, 4]) }), 4, /__metadata__/],
    ['a gap between tensors', JSON.stringify({ a: t([0, 4]), b: t([8, 12]) }), 12, /belong to no tensor/],
    ['bytes after the last tensor', JSON.stringify({ a: t([0, 4]) }), 8, /tensors cover 4/],
    ['overlapping tensors', JSON.stringify({ a: t([0, 8]), b: t([4, 12]) }), 12, /overlaps/],
    ['a byte size that overflows', JSON.stringify({ a: t([0, 4], [2 ** 40, 2 ** 40]) }), 4, /overflows/],
    [
      'a dtype from Object.prototype',
      JSON.stringify({ a: { dtype: 'constructor', shape: [1], data_offsets: [0, 4] } }),
      4,
      /dtype "constructor"/,
    ],
  ])('refuses %s', async (_what, header, dataBytes, pattern) => {
    await expectRefused(
      () => SafetensorsFile.open(file(header, zeros(dataBytes)), 'x.safetensors'),
      'x.safetensors',
      pattern,
    );
  });

  it('refuses invalid UTF-8 in the header', async () => {
    const bytes = new TextEncoder().encode('{"a\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const at = bytes.indexOf(0xc3);
    bytes[at] = 0xff;
    await expectRefused(
      () => SafetensorsFile.open(file(bytes, zeros(4)), 'x.safetensors'),
      'x.safetensors',
      /not valid UTF-8/,
    );
  });

  it('opens a header at its size limit quickly, and refuses one a byte over it before reading it', async () => {
    const entries: string[] = [];
    let size = 2;
    for (let i = 0; size < LIMITS.safetensorsHeaderBytes - 200 && i < LIMITS.tensorCount; i++) {
      const e = `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`;
      entries.push(e);
      size += e.length + 1;
    }
    const meta = `"__metadata__":{"pad":"${'x'.repeat(Math.max(0, LIMITS.safetensorsHeaderBytes - size - 40))}"}`;
    const header = `{${meta},${entries.join(',')}}`;
    expect(header.length).toBeGreaterThan(LIMITS.safetensorsHeaderBytes * 0.99);
    expect(header.length).toBeLessThanOrEqual(LIMITS.safetensorsHeaderBytes);
    const outcome = await bounded(() => SafetensorsFile.open(file(header), 'big.safetensors'));
    expect(outcome.error).toBeUndefined();
    expect(outcome.value!.names.length).toBe(entries.length);
    expect(outcome.cpuMs).toBeLessThan(HOSTILE_BUDGET.cpuMs);
    expect(outcome.extraBytes).toBeLessThan(HOSTILE_BUDGET.bytes);
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(LIMITS.safetensorsHeaderBytes + 1), true);
    await expectRefused(
      () => SafetensorsFile.open(new Blob([len, zeros(LIMITS.safetensorsHeaderBytes + 1)]), 'over.safetensors'),
      'over.safetensors',
      /safetensorsHeaderBytes/,
    );
  });
});

describe('CLIP loader (issue 13)', () => {
  it('checks a tensor shape before reading the tensor', async () => {
    const specs = clipWeightSpecs(CONVNEXT_BASE_W);
    let reads = 0;
    const source = {
      fileName: 'clip.bin',
      names: specs.map((s) => s.name),
      has: (name: string) => specs.some((s) => s.name === name),
      shape: (name: string) =>
        name === specs[3].name ? [16384, 16384] : [...specs.find((s) => s.name === name)!.shape],
      read: () => {
        reads++;
        return Promise.reject(new Error('read before the shape was checked'));
      },
    };
    await expectRefused(() => loadClipWeights(CONVNEXT_BASE_W, source), 'clip.bin', /has shape \[16384, 16384\]/);
    expect(reads).toBe(0);
  });
});

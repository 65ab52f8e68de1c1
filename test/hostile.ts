/**
 * Builders of hostile inputs (hand-written pickles, torch zips, raw zips with forged directories,
 * PNGs from chunks) and the budget every hostile input must stay within: a named error or correct
 * data within 2 s and 256 MB of extra memory (issue 13). Shared by the hostile-file tests and the
 * fuzzers (Node only).
 */
import { BlobWriter, Uint8ArrayReader, ZipWriter } from '@zip.js/zip.js';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { DearliError } from '../src/core/errors';

/** Writes pickle opcodes by hand, the way torch.save (protocol 2) lays out a state dict. */
export class PickleWriter {
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
    return b.length < 256
      ? this.raw(0x8c, b.length, ...b)
      : this.raw(0x58, b.length & 255, (b.length >> 8) & 255, 0, 0, ...b);
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
    return this.raw(0x28)
      .str('storage')
      .global('torch', type)
      .str(key)
      .str('cpu')
      .int(numel)
      .raw(0x74, 0x51, 0x71, memo);
  }
  done(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]);
  }
}

export function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export async function torchZip(files: Record<string, Uint8Array>, compressPickle = false): Promise<Blob> {
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

export function stateDictFiles(pickle = stateDictPickle()): Record<string, Uint8Array> {
  return {
    'archive/data.pkl': pickle,
    'archive/byteorder': new TextEncoder().encode('little'),
    'archive/data/0': f32([0, 1, 2, 3, 4, 5]),
    'archive/data/1': new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer),
    'archive/data/2': new Uint8Array(BigInt64Array.from([7n, -3n]).buffer),
    'archive/version': new TextEncoder().encode('3\n'),
  };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface RawZipEntry {
  name: string | Uint8Array;
  data: Uint8Array;
  /** 0 stored, 8 deflate (default), anything else is written as given with the data as is. */
  method?: number;
  /** Overrides the inflated size the headers declare (forged sizes). */
  declaredSize?: number;
  /** Overrides the compressed size the headers declare. */
  declaredCompressedSize?: number;
  flags?: number;
}

/** A zip written byte by byte, so that sizes, methods, flags and names can lie. */
export function rawZip(entries: RawZipEntry[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === 'string' ? new TextEncoder().encode(e.name) : e.name;
    const method = e.method ?? 8;
    const body = method === 8 ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const size = e.declaredSize ?? e.data.length;
    const stored = e.declaredCompressedSize ?? body.length;
    const flags = e.flags ?? 0x0800;
    const crc = crc32(e.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, flags, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, stored, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, stored, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const centralSize = centrals.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  return concat([...locals, ...centrals, end]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function ihdr(width: number, height: number, colorType = 2, depth = 8, interlace = 0): Uint8Array {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  d.set([depth, colorType, 0, 0, interlace], 8);
  return pngChunk('IHDR', d);
}

/** A PNG from its chunks; `idat` raw scanlines (filter byte + samples per row) are zlib-compressed. */
export function pngOf(chunks: Uint8Array[]): Uint8Array {
  return concat([Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks, pngChunk('IEND', new Uint8Array(0))]);
}

export function idat(raw: Uint8Array): Uint8Array {
  return pngChunk('IDAT', new Uint8Array(deflateSync(raw)));
}

/** The budget of issue 13: every hostile input ends within this time and extra memory. */
/**
 * What one hostile input may cost: 2 s of this process's CPU time (not wall time, which other work on
 * the machine stretches) and 256 MiB of extra memory.
 */
export const HOSTILE_BUDGET = { cpuMs: 2000, bytes: 256 * 1024 * 1024 };

export interface BoundedOutcome<T> {
  value?: T;
  error?: unknown;
  /** CPU time of this process (user + system) while `fn` ran. */
  cpuMs: number;
  /** Largest growth of heap + ArrayBuffer memory seen (sampled between awaits and at the end). */
  extraBytes: number;
}

function memoryNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Runs `fn`, measuring the CPU time it took and the largest growth of memory it caused. */
export async function bounded<T>(fn: () => Promise<T> | T): Promise<BoundedOutcome<T>> {
  const start = memoryNow();
  let peak = start;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memoryNow());
  }, 5);
  const cpu0 = process.cpuUsage();
  const out: BoundedOutcome<T> = { cpuMs: 0, extraBytes: 0 };
  try {
    out.value = await fn();
  } catch (e) {
    out.error = e;
  }
  const cpu = process.cpuUsage(cpu0);
  out.cpuMs = (cpu.user + cpu.system) / 1000;
  clearInterval(sampler);
  out.extraBytes = Math.max(peak, memoryNow()) - start;
  return out;
}

/** The error when `outcome` is a DearliError naming `file`, else a description of what went wrong. */
export function namedErrorOf(outcome: BoundedOutcome<unknown>, file: string): DearliError {
  const e = outcome.error;
  if (!(e instanceof DearliError))
    throw new Error(
      `expected a DearliError naming ${file}, got ${e === undefined ? 'a result' : String((e as Error)?.stack ?? e)}`,
    );
  if (e.file !== file) throw new Error(`the error names ${e.file}, not ${file}: ${e.message}`);
  if (!e.problem || !e.fix) throw new Error(`the error lacks a problem or a fix: ${e.message}`);
  return e;
}

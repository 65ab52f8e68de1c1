/**
 * The one safetensors reader and writer of the lab.
 *
 * Reads lazily from a Blob (a dropped File, an OPFS file, a cached Response body, or a Node
 * `fs.openAsBlob`), one tensor at a time, so a 700 MB checkpoint never sits in one ArrayBuffer.
 * The header is validated before any tensor is read: known dtypes, integer shapes, offsets in
 * bounds, byte sizes that match the shapes, no overlaps.
 */
import { DearliError } from '../../core/errors';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Header sizes above this are refused: real headers are a few hundred kB at most. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

/** Float types decode to Float32Array, integer types to Int32Array, U8/BOOL to Uint8Array. */
export type TensorData = Float32Array | Int32Array | Uint8Array;

export interface LoadedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

function fail(file: string, problem: string, fix = 'The file is not a valid safetensors file: download it again or export it anew.'): never {
  throw new DearliError('weights-format', problem, fix, file);
}

export class SafetensorsFile {
  readonly fileName: string;
  readonly metadata: Record<string, string>;
  private readonly blob: Blob;
  private readonly entries: Map<string, TensorEntry>;

  private constructor(blob: Blob, fileName: string, entries: Map<string, TensorEntry>, metadata: Record<string, string>) {
    this.blob = blob;
    this.fileName = fileName;
    this.entries = entries;
    this.metadata = metadata;
  }

  static async open(blob: Blob, fileName = 'weights.safetensors'): Promise<SafetensorsFile> {
    if (blob.size < 8) fail(fileName, `the file is ${blob.size} bytes long, too short for a safetensors header`);
    const lenView = new DataView(await blob.slice(0, 8).arrayBuffer());
    const headerLen = Number(lenView.getBigUint64(0, true));
    if (headerLen > MAX_HEADER_BYTES) fail(fileName, `the header claims ${headerLen} bytes (limit ${MAX_HEADER_BYTES})`);
    if (8 + headerLen > blob.size) fail(fileName, `the header claims ${headerLen} bytes but the file has only ${blob.size - 8} after the length`, 'The file is truncated: download it again.');
    const headerText = await blob.slice(8, 8 + headerLen).text();
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerText) as Record<string, unknown>;
    } catch (e) {
      fail(fileName, `the header is not valid JSON (${(e as Error).message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(fileName, 'the header is not a JSON object');
    const dataStart = 8 + headerLen;
    const dataLen = blob.size - dataStart;
    const entries = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = (raw ?? {}) as Record<string, string>;
        continue;
      }
      const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof info?.dtype !== 'string' || !(info.dtype in BYTES)) {
        fail(fileName, `tensor "${name}" has dtype ${JSON.stringify(info?.dtype)}, which the lab cannot read (known: ${Object.keys(BYTES).join(', ')})`, 'Convert the checkpoint to F32, F16 or BF16.');
      }
      const dtype = info.dtype as SafetensorsDtype;
      if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(fileName, `tensor "${name}" has an invalid shape ${JSON.stringify(info.shape)}`);
      }
      const shape = info.shape as number[];
      const offs = info.data_offsets;
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0]) {
        fail(fileName, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
      }
      const [b, e] = offs as [number, number];
      if (e > dataLen) fail(fileName, `tensor "${name}" ends at byte ${e} of the data section, which has only ${dataLen} bytes`, 'The file is truncated: download it again.');
      const expected = shape.reduce((a, d) => a * d, 1) * BYTES[dtype];
      if (e - b !== expected) fail(fileName, `tensor "${name}" has ${e - b} bytes but its shape [${shape.join(', ')}] of ${dtype} needs ${expected}`);
      entries.set(name, { name, dtype, shape, begin: dataStart + b, end: dataStart + e });
    }
    const sorted = [...entries.values()].sort((x, y) => x.begin - y.begin);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].begin < sorted[i - 1].end) fail(fileName, `tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap`);
    }
    return new SafetensorsFile(blob, fileName, entries, metadata);
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new DearliError('weights-missing', `tensor "${name}" is not in the file`, 'Check that the file belongs to the chosen model.', this.fileName);
    return e;
  }

  async read(name: string): Promise<LoadedTensor> {
    const e = this.entry(name);
    const bytes = await this.blob.slice(e.begin, e.end).arrayBuffer();
    return { dtype: e.dtype, shape: e.shape, data: decodeTensorBytes(bytes, e.dtype) };
  }
}

/** Little-endian raw bytes of one tensor to the lab's typed arrays (halves widened to float32). */
export function decodeTensorBytes(bytes: ArrayBuffer, dtype: SafetensorsDtype): TensorData {
  const n = bytes.byteLength / BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes);
    case 'F64':
      return Float32Array.from(new Float64Array(bytes));
    case 'F16':
      return halfToFloat32(new Uint16Array(bytes));
    case 'BF16': {
      const src = new Uint16Array(bytes);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'I32':
      return new Int32Array(bytes);
    case 'I64': {
      const src = new BigInt64Array(bytes);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (v > 2147483647n || v < -2147483648n) throw new RangeError(`int64 value ${v} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'I16':
      return Int32Array.from(new Int16Array(bytes));
    case 'I8':
      return Int32Array.from(new Int8Array(bytes));
    case 'U8':
    case 'BOOL':
      return new Uint8Array(bytes);
  }
}

let halfTable: Float32Array | null = null;

function halfToFloat32(src: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      halfTable[h] =
        exp === 0 ? s * 2 ** -14 * (frac / 1024) : exp === 31 ? (frac ? NaN : s * Infinity) : s * 2 ** (exp - 15) * (1 + frac / 1024);
    }
  }
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = halfTable[src[i]];
  return out;
}

export interface TensorToWrite {
  dtype: 'F32' | 'I32' | 'U8' | 'BF16';
  shape: number[];
  /** BF16: the raw 16-bit words (float32ToBf16). */
  data: Float32Array | Int32Array | Uint8Array | Uint16Array;
}

/** float32 → bfloat16 words, rounded to nearest even (as torch's .to(torch.bfloat16)); NaN stays NaN. */
export function float32ToBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Writes tensors (4-byte types first so every tensor stays aligned) with optional string metadata. */
export function writeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => BYTES[tensors[b].dtype] - BYTES[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (t.data.length !== n) throw new RangeError(`tensor "${name}": ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20);
  headerBytes.set(raw);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

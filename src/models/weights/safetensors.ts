/**
 * The one safetensors reader and writer of the lab.
 *
 * Reads lazily from a Blob (a dropped File, an OPFS file, a cached Response body, or a Node
 * `fs.openAsBlob`), one tensor at a time, so a 700 MB checkpoint never sits in one ArrayBuffer.
 * The header is validated before any tensor is read (see `open`), and every size is computed and
 * bounded before anything is allocated.
 */
import { DearliError } from '../../core/errors';
import { checkedProduct, LIMITS, limitError } from '../../core/limits';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype (shared by every checkpoint reader). */
export const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

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

const INVALID = 'The file is not a valid safetensors file: download it again or export it anew.';

function fail(file: string, problem: string, fix = INVALID): never {
  throw new DearliError('weights-format', problem, fix, file);
}

/**
 * A tensor's byte size from its dtype and shape, or a named error: dimensions must be non-negative
 * safe integers, the rank and the byte size within LIMITS (computed before anything is allocated).
 */
function tensorByteSize(dtype: SafetensorsDtype, shape: unknown, name: string, file: string): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(
      file,
      `tensor "${name}" has an invalid shape ${JSON.stringify(shape)?.slice(0, 200)} (dimensions must be non-negative integers)`,
    );
  }
  if (shape.length > LIMITS.tensorRank)
    throw limitError('weights-limit', `tensor "${name}" has ${shape.length} dimensions`, 'tensorRank', file);
  const bytes = checkedProduct([...(shape as number[]), DTYPE_BYTES[dtype]], Number.MAX_SAFE_INTEGER);
  if (bytes === null) fail(file, `tensor "${name}" has shape [${shape.join(', ')}], whose byte size overflows`);
  return bytes;
}

/**
 * One pass over header text before it is parsed: the keys of the top-level object in order, with
 * duplicates kept (JSON.parse keeps only the last of two equal keys; safetensors forbids them), and
 * the number of objects and arrays, which bounds what JSON.parse will build. Strings are skipped
 * whole, so the text need not be valid JSON yet (JSON.parse judges that afterwards).
 */
function scanHeader(text: string): { keys: string[]; containers: number } {
  const keys: string[] = [];
  let containers = 0;
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) {
          escaped = true;
          i++;
        }
      }
      if (depth === 1 && expectKey) keys.push(escaped ? decodeKey(text.slice(start, i + 1)) : text.slice(start + 1, i));
      expectKey = false;
    } else if (c === 0x7b || c === 0x5b) {
      containers++;
      depth++;
      expectKey = depth === 1 && c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c) expectKey = depth === 1;
  }
  return { keys, containers };
}

function decodeKey(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted;
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export class SafetensorsFile {
  readonly fileName: string;
  readonly metadata: Record<string, string>;
  private readonly blob: Blob;
  private readonly entries: Map<string, TensorEntry>;

  private constructor(
    blob: Blob,
    fileName: string,
    entries: Map<string, TensorEntry>,
    metadata: Record<string, string>,
  ) {
    this.blob = blob;
    this.fileName = fileName;
    this.entries = entries;
    this.metadata = metadata;
  }

  /**
   * Opens a file after validating its header as the safetensors format defines it: a UTF-8 JSON
   * object with unique names, `__metadata__` a string-to-string map, known dtypes, and data_offsets
   * that tile the data section exactly (sorted, contiguous, nothing before, between or after).
   */
  static async open(blob: Blob, fileName = 'weights.safetensors'): Promise<SafetensorsFile> {
    if (blob.size < 8) fail(fileName, `the file is ${blob.size} bytes long, too short for a safetensors header`);
    const lenView = new DataView(await blob.slice(0, 8).arrayBuffer());
    const headerLen = Number(lenView.getBigUint64(0, true));
    if (headerLen > LIMITS.safetensorsHeaderBytes)
      throw limitError('weights-limit', `the header claims ${headerLen} bytes`, 'safetensorsHeaderBytes', fileName);
    if (8 + headerLen > blob.size)
      fail(
        fileName,
        `the header claims ${headerLen} bytes but the file has only ${blob.size - 8} after the length`,
        'The file is truncated: download it again.',
      );
    let headerText: string;
    try {
      headerText = STRICT_UTF8.decode(await blob.slice(8, 8 + headerLen).arrayBuffer());
    } catch {
      fail(fileName, 'the header is not valid UTF-8');
    }
    if (!headerText.startsWith('{')) fail(fileName, 'the header does not start with "{"');
    const { keys, containers } = scanHeader(headerText);
    // A tensor entry is one object and two arrays: anything far beyond that is not a tensor index.
    if (keys.length > LIMITS.tensorCount + 1 || containers > 3 * LIMITS.tensorCount + 2) {
      throw limitError(
        'weights-limit',
        `the header lists ${keys.length} entries in ${containers} JSON objects and arrays`,
        'tensorCount',
        fileName,
      );
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerText) as Record<string, unknown>;
    } catch (e) {
      fail(fileName, `the header is not valid JSON (${(e as Error).message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header))
      fail(fileName, 'the header is not a JSON object');
    const seen = new Set<string>();
    for (const key of keys) {
      if (seen.has(key)) fail(fileName, `the header names "${key}" twice`);
      seen.add(key);
    }
    const dataStart = 8 + headerLen;
    const dataLen = blob.size - dataStart;
    const entries = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const name of keys) {
      const raw = header[name];
      if (name === '__metadata__') {
        if (
          raw === null ||
          typeof raw !== 'object' ||
          Array.isArray(raw) ||
          !Object.values(raw).every((v) => typeof v === 'string')
        ) {
          fail(fileName, '"__metadata__" is not a map of strings to strings');
        }
        metadata = raw as Record<string, string>;
        continue;
      }
      const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof info?.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, info.dtype)) {
        fail(
          fileName,
          `tensor "${name}" has dtype ${JSON.stringify(info?.dtype)?.slice(0, 40)}, which the lab cannot read (known: ${Object.keys(DTYPE_BYTES).join(', ')})`,
          'Convert the checkpoint to F32, F16 or BF16.',
        );
      }
      const dtype = info.dtype as SafetensorsDtype;
      const expected = tensorByteSize(dtype, info.shape, name, fileName);
      const offs = info.data_offsets;
      if (
        !Array.isArray(offs) ||
        offs.length !== 2 ||
        !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
        offs[1] < offs[0]
      ) {
        fail(fileName, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)?.slice(0, 100)}`);
      }
      const [b, e] = offs as [number, number];
      if (e > dataLen)
        fail(
          fileName,
          `tensor "${name}" ends at byte ${e} of the data section, which has only ${dataLen} bytes`,
          'The file is truncated: download it again.',
        );
      if (e - b !== expected)
        fail(
          fileName,
          `tensor "${name}" has ${e - b} bytes but its shape [${(info.shape as number[]).join(', ')}] of ${dtype} needs ${expected}`,
        );
      entries.set(name, { name, dtype, shape: info.shape as number[], begin: dataStart + b, end: dataStart + e });
    }
    const sorted = [...entries.values()].sort((x, y) => x.begin - y.begin || x.end - y.end);
    let covered = dataStart;
    for (const t of sorted) {
      if (t.begin < covered) fail(fileName, `tensor "${t.name}" overlaps the tensor before it`);
      if (t.begin > covered)
        fail(fileName, `bytes ${covered - dataStart}..${t.begin - dataStart} of the data section belong to no tensor`);
      covered = t.end;
    }
    if (covered !== blob.size)
      fail(fileName, `the data section has ${dataLen} bytes but its tensors cover ${covered - dataStart}`);
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
    if (!e)
      throw new DearliError(
        'weights-missing',
        `tensor "${name}" is not in the file`,
        'Check that the file belongs to the chosen model.',
        this.fileName,
      );
    return e;
  }

  async read(name: string): Promise<LoadedTensor> {
    const e = this.entry(name);
    if (e.end - e.begin > LIMITS.tensorBytes)
      throw limitError('weights-limit', `tensor "${name}" has ${e.end - e.begin} bytes`, 'tensorBytes', this.fileName);
    const bytes = await this.blob.slice(e.begin, e.end).arrayBuffer();
    return { dtype: e.dtype, shape: e.shape, data: decodeTensorBytes(bytes, e.dtype, this.fileName, name) };
  }
}

/** Little-endian raw bytes of one tensor to the lab's typed arrays (halves widened to float32). */
export function decodeTensorBytes(bytes: ArrayBuffer, dtype: SafetensorsDtype, file: string, name: string): TensorData {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
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
        if (v > 2147483647n || v < -2147483648n) {
          throw new DearliError(
            'weights-format',
            `tensor "${name}" holds the int64 value ${v} at index ${i}, outside the int32 range the lab computes in`,
            'Store the tensor as int32 or as floats.',
            file,
          );
        }
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
        exp === 0
          ? s * 2 ** -14 * (frac / 1024)
          : exp === 31
            ? frac
              ? NaN
              : s * Infinity
            : s * 2 ** (exp - 15) * (1 + frac / 1024);
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
export function writeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort(
    (a, b) => DTYPE_BYTES[tensors[b].dtype] - DTYPE_BYTES[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (t.data.length !== n)
      throw new RangeError(`tensor "${name}": ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const bytes = n * DTYPE_BYTES[t.dtype];
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

/**
 * Reader for PyTorch ≥ 1.6 checkpoints (`torch.save` zip format, e.g. open_clip_pytorch_model.bin).
 *
 * Layout: `<dir>/data.pkl` (a pickle of the state dict) + `<dir>/data/<key>` (raw little-endian storages) + `<dir>/byteorder`.
 * The zip directory comes from @zip.js/zip.js; storages are stored uncompressed by torch, so each one is a Blob.slice
 * of the archive (a 700 MB checkpoint is never inflated or held in one buffer).
 *
 * The pickle is read by a restricted unpickler that executes nothing: it knows the opcodes torch writes and accepts
 * only the globals that rebuild tensors (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter, the typed storage
 * classes, dtype constants). Any other global — `os.system`, `builtins.eval`, ... — is refused by name.
 */
import { BlobReader, ZipReader, type Entry, type FileEntry } from '@zip.js/zip.js';
import { DearliError } from '../../core/errors';
import { checkedProduct, LIMITS, limitError } from '../../core/limits';
import { inflateZipEntry } from '../../core/zipEntry';
import { decodeTensorBytes, DTYPE_BYTES, type LoadedTensor, type SafetensorsDtype } from './safetensors';
import type { TensorSource } from './tensorSource';

/** torch storage classes and dtype names → the safetensors dtype with the same bytes. */
const STORAGE_DTYPES = new Map<string, SafetensorsDtype>(
  Object.entries({
    FloatStorage: 'F32',
    HalfStorage: 'F16',
    BFloat16Storage: 'BF16',
    DoubleStorage: 'F64',
    LongStorage: 'I64',
    IntStorage: 'I32',
    ShortStorage: 'I16',
    CharStorage: 'I8',
    ByteStorage: 'U8',
    BoolStorage: 'BOOL',
  } as const),
);
const TORCH_DTYPES = new Map<string, SafetensorsDtype>(
  Object.entries({
    float32: 'F32',
    float: 'F32',
    float16: 'F16',
    half: 'F16',
    bfloat16: 'BF16',
    float64: 'F64',
    double: 'F64',
    int64: 'I64',
    long: 'I64',
    int32: 'I32',
    int: 'I32',
    int16: 'I16',
    short: 'I16',
    int8: 'I8',
    uint8: 'U8',
    bool: 'BOOL',
  } as const),
);

function fail(
  file: string,
  problem: string,
  fix = 'The file is not a valid PyTorch checkpoint: download it again.',
): never {
  throw new DearliError('weights-format', problem, fix, file);
}

// ---------------------------------------------------------------------------------------------------------------
// Restricted unpickler.

/** A global the pickle asked for, already checked against the allow-list. */
class AllowedGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
class StorageRef {
  constructor(
    readonly dtype: SafetensorsDtype,
    readonly key: string,
    readonly numel: number,
  ) {}
}
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}
class DtypeValue {
  constructor(readonly dtype: SafetensorsDtype) {}
}
type PickleValue = unknown;

function isAllowedGlobal(module: string, name: string): boolean {
  if (module === 'collections' && name === 'OrderedDict') return true;
  if (module === 'torch._utils' && (name === '_rebuild_tensor_v2' || name === '_rebuild_parameter')) return true;
  return module === 'torch' && (STORAGE_DTYPES.has(name) || TORCH_DTYPES.has(name));
}

function resolveGlobal(module: string, name: string, file: string): PickleValue {
  if (!isAllowedGlobal(module, name)) {
    throw new DearliError(
      'weights-unsafe',
      `the checkpoint asks to run "${module}.${name}", which is not part of a plain tensor state dict; nothing was executed`,
      'Only load checkpoints from sources you trust, and prefer .safetensors files.',
      file,
    );
  }
  const dtype = module === 'torch' ? TORCH_DTYPES.get(name) : undefined;
  if (dtype) return new DtypeValue(dtype);
  return new AllowedGlobal(module, name);
}

function asInt(v: PickleValue, what: string, file: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  fail(file, `${what} is ${String(v)}, expected an integer`);
}

function asIntTuple(v: PickleValue, what: string, file: string): number[] {
  if (!Array.isArray(v)) fail(file, `${what} is not a tuple`);
  if (v.length > LIMITS.tensorRank)
    throw limitError('weights-limit', `${what} has ${v.length} entries`, 'tensorRank', file);
  return v.map((x, i) => asInt(x, `${what}[${i}]`, file));
}

function callGlobal(fn: PickleValue, args: PickleValue, file: string): PickleValue {
  if (!(fn instanceof AllowedGlobal) || !Array.isArray(args))
    fail(file, 'the pickle calls something that is not a function');
  const qualified = `${fn.module}.${fn.name}`;
  switch (qualified) {
    case 'collections.OrderedDict':
      return new Map<PickleValue, PickleValue>();
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, size, stride] = args;
      if (!(storage instanceof StorageRef)) fail(file, '_rebuild_tensor_v2 got no storage');
      const shape = asIntTuple(size, 'tensor size', file);
      const strides = asIntTuple(stride, 'tensor stride', file);
      if (shape.length !== strides.length) fail(file, `tensor size [${shape}] and stride [${strides}] differ in rank`);
      if (shape.length > LIMITS.tensorRank)
        throw limitError('weights-limit', `a tensor has ${shape.length} dimensions`, 'tensorRank', file);
      if (shape.some((d) => d < 0)) fail(file, `a tensor has the negative size [${shape.join(', ')}]`);
      return new TensorRef(storage, asInt(offset, 'storage offset', file), shape, strides);
    }
    case 'torch._utils._rebuild_parameter':
      if (!(args[0] instanceof TensorRef)) fail(file, '_rebuild_parameter got no tensor');
      return args[0];
    default:
      fail(file, `"${qualified}" cannot be called`);
  }
}

const MARK = Symbol('mark');

/** Evaluates a pickle (protocol 2–5 opcodes that torch state dicts use) without executing any Python. */
function unpickleStateDict(bytes: Uint8Array, file: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const stack: PickleValue[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;

  const need = (n: number) => {
    if (pos + n > bytes.length) fail(file, 'the pickle ends in the middle of an instruction');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => (need(8), (pos += 8), Number(view.getBigUint64(pos - 8, true)));
  const utf8 = (from: number, to: number) => {
    try {
      return text.decode(bytes.subarray(from, to));
    } catch {
      fail(file, `the pickle has a string that is not valid UTF-8 at byte ${from}`);
    }
  };
  const str = (n: number) => (need(n), (pos += n), utf8(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(file, 'the pickle ends in the middle of a GLOBAL');
    const s = utf8(pos, end);
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail(file, 'the pickle pops from an empty stack');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) fail(file, 'the pickle reads an empty stack');
    return stack[stack.length - 1];
  };
  const popToMark = () => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail(file, 'the pickle has no MARK to pop to');
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const memoize = (key: number) => {
    if (memo.size >= LIMITS.pickleMemoEntries && !memo.has(key))
      throw limitError(
        'weights-limit',
        'the pickle stores more objects than a state dict needs',
        'pickleMemoEntries',
        file,
      );
    memo.set(key, top());
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    if (!(target instanceof Map) || items.length % 2) fail(file, 'SETITEM(S) on something that is not a dict');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(target)) fail(file, 'APPEND(S) on something that is not a list');
    for (const item of items) target.push(item);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        u64();
        break; // FRAME (length is advisory)
      case 0x2e:
        return pop(); // STOP
      case 0x28:
        stack.push(MARK);
        break; // MARK
      case 0x7d:
        stack.push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x4a:
        stack.push(i32());
        break; // BININT
      case 0x8a: {
        // LONG1: little-endian two's complement
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[pos + i]);
        if (n > 0 && bytes[pos + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        pos += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47:
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break; // BINFLOAT (big-endian)
      case 0x8c:
        stack.push(str(u8()));
        break; // SHORT_BINUNICODE
      case 0x58:
        stack.push(str(u32()));
        break; // BINUNICODE
      case 0x8d:
        stack.push(str(u64()));
        break; // BINUNICODE8
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(resolveGlobal(module, line(), file));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(file, 'STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module, name, file));
        break;
      }
      case 0x71:
        memoize(u8());
        break; // BINPUT
      case 0x72:
        memoize(u32());
        break; // LONG_BINPUT
      case 0x94:
        memoize(memo.size);
        break; // MEMOIZE
      case 0x68:
      case 0x6a: {
        // BINGET, LONG_BINGET
        const key = op === 0x68 ? u8() : u32();
        if (!memo.has(key)) fail(file, `the pickle refers to memo entry ${key}, which was never stored`);
        stack.push(memo.get(key));
        break;
      }
      case 0x85:
        stack.push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        stack.push([pop(), b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      } // TUPLE3
      case 0x74:
        stack.push(popToMark());
        break; // TUPLE
      case 0x6c:
        stack.push(popToMark());
        break; // LIST
      case 0x64: {
        const items = popToMark();
        const d = new Map();
        setItems(d, items);
        stack.push(d);
        break;
      } // DICT
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popToMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x61: {
        const v = pop();
        appendItems(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popToMark();
        appendItems(top(), items);
        break;
      } // APPENDS
      case 0x52: {
        const args = pop();
        const fn = pop();
        stack.push(callGlobal(fn, args, file));
        break;
      } // REDUCE
      case 0x62: {
        // BUILD: the only states torch writes are dict attributes (state_dict._metadata) — not needed
        pop();
        if (!(top() instanceof Map) && !(top() instanceof TensorRef))
          fail(file, 'BUILD on an object that is not a dict or tensor');
        break;
      }
      case 0x51: {
        // BINPERSID: ('storage', storage_type, key, location, numel)
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
          fail(file, "a persistent id is not a ('storage', type, key, location, size) tuple");
        if (typeof pid[2] !== 'string' && typeof pid[2] !== 'number') fail(file, 'a storage key is not a string');
        const type = pid[1];
        const dtype =
          type instanceof AllowedGlobal
            ? STORAGE_DTYPES.get(type.name)
            : type instanceof DtypeValue
              ? type.dtype
              : undefined;
        if (!dtype) fail(file, 'a storage has no known element type');
        stack.push(new StorageRef(dtype, String(pid[2]), asInt(pid[4], 'storage size', file)));
        break;
      }
      default:
        fail(
          file,
          `the pickle uses opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1}, which a tensor state dict does not need`,
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Zip access.

interface TorchTensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  stride: number[];
  offset: number;
  storage: StorageRef;
}

/**
 * Flattens nested dicts into dotted tensor names. A dict reached twice (a DAG of memo references) is
 * walked once, a dict inside itself is refused, and nesting is bounded, so a small pickle cannot
 * make the walk exponential or overflow the stack.
 */
function collectTensors(root: PickleValue, file: string): Map<string, TorchTensorEntry> {
  const out = new Map<string, TorchTensorEntry>();
  const walked = new Set<Map<PickleValue, PickleValue>>();
  const open = new Set<Map<PickleValue, PickleValue>>();
  const walk = (value: Map<PickleValue, PickleValue>, prefix: string, depth: number): void => {
    if (depth > LIMITS.pickleNesting)
      throw limitError('weights-limit', 'the state dict nests dicts too deeply', 'pickleNesting', file);
    if (open.has(value)) fail(file, `the dict "${prefix.slice(0, -1)}" contains itself`);
    if (walked.has(value)) return;
    walked.add(value);
    open.add(value);
    for (const [key, v] of value) {
      if (typeof key !== 'string' && typeof key !== 'number')
        fail(file, `a key of the state dict "${prefix.slice(0, -1)}" is not a string`);
      const name = `${prefix}${key}`;
      if (v instanceof TensorRef) {
        if (out.size >= LIMITS.tensorCount)
          throw limitError('weights-limit', 'the checkpoint holds too many tensors', 'tensorCount', file);
        out.set(name, {
          name,
          dtype: v.storage.dtype,
          shape: v.shape,
          stride: v.stride,
          offset: v.offset,
          storage: v.storage,
        });
      } else if (v instanceof Map) walk(v, `${name}.`, depth + 1);
    }
    open.delete(value);
  };
  if (root instanceof Map) walk(root, '', 0);
  return out;
}

/**
 * Whether distinct indices reach distinct storage elements: with dimensions sorted by stride, each
 * stride must exceed the span of all smaller ones (sufficient, and what every non-overlapping view
 * torch writes satisfies).
 */
function isInjective(shape: number[], stride: number[]): boolean {
  const dims = shape
    .map((d, i) => ({ d, s: stride[i] }))
    .filter((x) => x.d > 1)
    .sort((a, b) => a.s - b.s);
  let span = 0;
  for (const { d, s } of dims) {
    if (s <= span) return false;
    span += (d - 1) * s;
  }
  return true;
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

export class TorchZipFile implements TensorSource {
  readonly fileName: string;
  private readonly blob: Blob;
  private readonly tensors: Map<string, TorchTensorEntry>;
  private readonly storageEntries: Map<string, Entry>;
  /** Where each entry's bytes must end at the latest: the next local header (or the directory). */
  private readonly boundaries: Map<Entry, number>;
  private readonly storageBlobs = new Map<string, Promise<Blob>>();

  private constructor(
    blob: Blob,
    fileName: string,
    tensors: Map<string, TorchTensorEntry>,
    storageEntries: Map<string, Entry>,
    boundaries: Map<Entry, number>,
  ) {
    this.blob = blob;
    this.boundaries = boundaries;
    this.fileName = fileName;
    this.tensors = tensors;
    this.storageEntries = storageEntries;
  }

  static async open(blob: Blob, fileName = 'pytorch_model.bin'): Promise<TorchZipFile> {
    let entries: Entry[];
    try {
      entries = await new ZipReader(new BlobReader(blob), { useWebWorkers: false }).getEntries();
    } catch (e) {
      fail(
        fileName,
        `the file is not a zip archive (${(e as Error).message}); checkpoints saved by PyTorch before 1.6 are not supported`,
        'Re-save it with a current torch.save, or convert it to safetensors.',
      );
    }
    const names = new Set<string>();
    for (const e of entries) {
      if (names.has(e.filename))
        fail(fileName, `the archive holds "${e.filename}" twice, so which one is meant is ambiguous`);
      names.add(e.filename);
      if (e.encrypted)
        fail(fileName, `"${e.filename}" is encrypted`, 'Use the checkpoint as torch.save wrote it, unencrypted.');
      if (!e.directory && e.compressionMethod !== 0 && e.compressionMethod !== 8) {
        fail(
          fileName,
          `"${e.filename}" uses zip compression method ${e.compressionMethod}; the lab reads stored and deflated entries only`,
          'Use the checkpoint as torch.save wrote it (entries stored), not re-compressed.',
        );
      }
    }
    const byOffset = [...entries].sort((a, b) => a.offset - b.offset);
    const boundaries = new Map<Entry, number>(byOffset.map((e, i) => [e, byOffset[i + 1]?.offset ?? blob.size - 22]));
    const pkls = entries.filter((e) => !e.directory && /^[^/]+\/data\.pkl$/.test(e.filename));
    if (pkls.length > 1)
      fail(fileName, `the archive has ${pkls.length} data.pkl files, so which one is meant is ambiguous`);
    const pkl = pkls[0];
    if (!pkl) fail(fileName, 'the archive has no data.pkl in a top folder, so it is not a torch.save checkpoint');
    const dir = pkl.filename.slice(0, -'data.pkl'.length);
    const byteorder = entries.find((e) => e.filename === `${dir}byteorder`);
    if (
      byteorder &&
      !byteorder.directory &&
      (await (await readEntryBlob(blob, byteorder, fileName, boundaries.get(byteorder)!, 16)).text()).trim() === 'big'
    ) {
      fail(
        fileName,
        'the checkpoint was saved on a big-endian machine',
        'Re-save it on a little-endian machine or convert it to safetensors.',
      );
    }
    if (pkl.uncompressedSize > LIMITS.pickleBytes)
      throw limitError('weights-limit', `data.pkl has ${pkl.uncompressedSize} bytes`, 'pickleBytes', fileName);
    const pickle = new Uint8Array(
      await (await readEntryBlob(blob, pkl, fileName, boundaries.get(pkl)!, LIMITS.pickleBytes)).arrayBuffer(),
    );
    const tensors = collectTensors(unpickleStateDict(pickle, fileName), fileName);
    if (tensors.size === 0)
      fail(
        fileName,
        'the checkpoint holds no tensors in a dict',
        'Use a checkpoint saved with torch.save(model.state_dict()).',
      );
    const storageEntries = new Map<string, Entry>();
    for (const e of entries)
      if (e.filename.startsWith(`${dir}data/`)) storageEntries.set(e.filename.slice(dir.length + 5), e);
    for (const t of tensors.values()) {
      const entry = storageEntries.get(t.storage.key);
      if (!entry) fail(fileName, `tensor "${t.name}" needs storage ${t.storage.key}, which is not in the archive`);
      if (entry.directory) fail(fileName, `storage ${t.storage.key} is a folder`);
      if (t.storage.numel < 0) fail(fileName, `storage ${t.storage.key} has the negative size ${t.storage.numel}`);
      const storageBytes = t.storage.numel * DTYPE_BYTES[t.dtype];
      if (entry.uncompressedSize !== storageBytes)
        fail(
          fileName,
          `storage ${t.storage.key} has ${entry.uncompressedSize} bytes, its ${t.storage.numel} ${t.dtype} values need ${storageBytes}`,
          'The file is truncated or altered: download it again.',
        );
      if (t.offset < 0 || t.stride.some((s) => s < 0))
        fail(fileName, `tensor "${t.name}" has a negative offset or stride`);
      // Every element must be its own storage element: an expanded (stride-0) or overlapping view of
      // a few stored values could otherwise make a small file allocate gigabytes.
      const count = checkedProduct(t.shape, t.storage.numel);
      if (count === null)
        fail(
          fileName,
          `tensor "${t.name}" of shape [${t.shape.join(', ')}] has more elements than its storage of ${t.storage.numel} (an expanded or overlapping view)`,
          'Save the tensor with .contiguous() or .clone() first.',
        );
      if (count > 0 && !isInjective(t.shape, t.stride))
        fail(
          fileName,
          `tensor "${t.name}" of shape [${t.shape.join(', ')}] and stride [${t.stride.join(', ')}] reads some stored values twice (an expanded or overlapping view)`,
          'Save the tensor with .contiguous() or .clone() first.',
        );
      const last = count === 0 ? t.offset - 1 : t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i], t.offset);
      if (last >= t.storage.numel)
        fail(fileName, `tensor "${t.name}" reaches element ${last} of a storage with ${t.storage.numel}`);
      if (count * DTYPE_BYTES[t.dtype] > LIMITS.tensorBytes)
        throw limitError(
          'weights-limit',
          `tensor "${t.name}" has ${count * DTYPE_BYTES[t.dtype]} bytes`,
          'tensorBytes',
          fileName,
        );
    }
    return new TorchZipFile(blob, fileName, tensors, storageEntries, boundaries);
  }

  get names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  shape(name: string): number[] {
    return this.entry(name).shape;
  }

  async read(name: string): Promise<LoadedTensor> {
    const t = this.entry(name);
    const item = DTYPE_BYTES[t.dtype];
    const count = t.shape.reduce((a, d) => a * d, 1);
    const storage = await this.storageBlob(t.storage.key);
    if (count === 0)
      return {
        dtype: t.dtype,
        shape: t.shape,
        data: decodeTensorBytes(new ArrayBuffer(0), t.dtype, this.fileName, name),
      };
    if (isContiguous(t.shape, t.stride)) {
      const bytes = await storage.slice(t.offset * item, (t.offset + count) * item).arrayBuffer();
      if (bytes.byteLength !== count * item)
        fail(
          this.fileName,
          `tensor "${name}" has ${bytes.byteLength} stored bytes, its shape needs ${count * item}`,
          'The file is truncated or altered: download it again.',
        );
      return { dtype: t.dtype, shape: t.shape, data: decodeTensorBytes(bytes, t.dtype, this.fileName, name) };
    }
    // A strided view (transpose, slice of a shared storage): read the span it covers, gather it row-major.
    const last = t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i], t.offset);
    const span = new Uint8Array(await storage.slice(t.offset * item, (last + 1) * item).arrayBuffer());
    if (span.length !== (last + 1 - t.offset) * item)
      fail(
        this.fileName,
        `tensor "${name}" has ${span.length} stored bytes, its view needs ${(last + 1 - t.offset) * item}`,
        'The file is truncated or altered: download it again.',
      );
    const out = new Uint8Array(count * item);
    const index = new Array<number>(t.shape.length).fill(0);
    for (let n = 0; n < count; n++) {
      let src = 0;
      for (let d = 0; d < index.length; d++) src += index[d] * t.stride[d];
      out.set(span.subarray(src * item, (src + 1) * item), n * item);
      for (let d = index.length - 1; d >= 0 && ++index[d] === t.shape[d]; d--) index[d] = 0;
    }
    return { dtype: t.dtype, shape: t.shape, data: decodeTensorBytes(out.buffer, t.dtype, this.fileName, name) };
  }

  private entry(name: string): TorchTensorEntry {
    const t = this.tensors.get(name);
    if (!t)
      throw new DearliError(
        'weights-missing',
        `tensor "${name}" is not in the file`,
        'Check that the file belongs to the chosen model.',
        this.fileName,
      );
    return t;
  }

  private storageBlob(key: string): Promise<Blob> {
    let blob = this.storageBlobs.get(key);
    if (!blob) {
      const entry = this.storageEntries.get(key)!;
      blob = readEntryBlob(this.blob, entry, this.fileName, this.boundaries.get(entry)!);
      this.storageBlobs.set(key, blob);
    }
    return blob;
  }
}

const LOCAL_HEADER_SIGNATURE = 0x04034b50;

/**
 * An entry's bytes as a Blob: a slice of the archive when stored (torch's case), else inflated within
 * `cap` and the ratio cap. Either way the bytes must be exactly the size the directory declares.
 */
async function readEntryBlob(
  archive: Blob,
  entry: Entry,
  file: string,
  boundary: number,
  cap: number = LIMITS.zipEntryBytes,
): Promise<Blob> {
  if (entry.directory) fail(file, `"${entry.filename}" is a folder`);
  if (entry.compressionMethod === 0) {
    if (entry.compressedSize !== entry.uncompressedSize)
      fail(
        file,
        `"${entry.filename}" is stored uncompressed but declares ${entry.compressedSize} stored and ${entry.uncompressedSize} actual bytes`,
        'The file is damaged or altered: download it again.',
      );
    // The local header's name/extra lengths can differ from the central directory's (torch pads the extra field).
    const header = new DataView(await archive.slice(entry.offset, entry.offset + 30).arrayBuffer());
    if (header.byteLength < 30 || header.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE)
      fail(file, `the local header of "${entry.filename}" is damaged`);
    const start = entry.offset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
    if (start + entry.compressedSize > archive.size)
      fail(file, `"${entry.filename}" runs past the end of the archive`, 'The file is truncated: download it again.');
    if (start + entry.compressedSize > boundary)
      fail(
        file,
        `"${entry.filename}" declares ${entry.compressedSize} bytes, which run into the next entry (a forged size)`,
        'The file is damaged or altered: download it again.',
      );
    return archive.slice(start, start + entry.compressedSize);
  }
  return inflateZipEntry(entry as FileEntry as Parameters<typeof inflateZipEntry>[0], file, cap);
}

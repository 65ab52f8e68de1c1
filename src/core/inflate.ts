/**
 * zlib-wrapped DEFLATE (RFC 1950, RFC 1951) inflated into a buffer the caller owns and reuses, so
 * that reading many PNGs allocates nothing per file. node:zlib's inflateSync returns every image in
 * freshly allocated memory (nearly a megabyte per 640×480 RGB map), which the process first touches
 * page by page and the garbage collector frees in batches; on a VM a page fault costs 15–23 µs, and
 * from run to run that made the evaluator's time per image vary by half. Image data is mostly long
 * matches (pixel runs at distance 3 or 4, rows repeated at the row stride), which are copied here
 * 32 bits at a time; literals and Huffman decoding are a small part.
 *
 * Bounded: the output never passes the caller's buffer, a stream that reads past its input or uses
 * an invalid code, length or distance stops with an InflateError. The Adler-32 of the inflated data
 * is not checked (as the PNG readers here do not check chunk CRCs, see scripts/panopticPng.ts).
 */

/** Why a zlib stream cannot be inflated (the caller names the file); `outputFull` when it holds more data than allowed. */
export class InflateError extends Error {
  constructor(
    message: string,
    readonly outputFull = false,
  ) {
    super(message);
  }
}

/** DEFLATE's largest expansion: 258 bytes from a 2-bit code, about 1032 to 1. */
export const DEFLATE_MAX_RATIO = 1032;

const outputFull = () => new InflateError('more data than the output may hold', true);

const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/** The order in which a dynamic block lists the code lengths of the code-length alphabet. */
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const MAX_CODE_BITS = 15;

/**
 * A canonical Huffman code as a lookup table indexed by the next `bits` input bits (least
 * significant first, as DEFLATE packs codes): each entry is symbol · 16 + code length, 0 where no
 * code matches. Tables are preallocated at the largest size and refilled per block.
 */
class HuffmanTable {
  readonly entries = new Int32Array(1 << MAX_CODE_BITS);
  bits = 0;
  private readonly countOfLength = new Int32Array(MAX_CODE_BITS + 1);
  private readonly nextCode = new Int32Array(MAX_CODE_BITS + 1);

  /** Builds the code of `lengths[0..count)`; throws for an over-subscribed one. */
  build(lengths: Uint8Array, count: number, what: string): void {
    const { countOfLength, nextCode, entries } = this;
    countOfLength.fill(0);
    let bits = 0;
    for (let s = 0; s < count; s++) {
      countOfLength[lengths[s]]++;
      if (lengths[s] > bits) bits = lengths[s];
    }
    countOfLength[0] = 0;
    let code = 0;
    for (let len = 1; len <= MAX_CODE_BITS; len++) {
      code = (code + countOfLength[len - 1]) << 1;
      nextCode[len] = code;
      if (code + countOfLength[len] > 1 << len) throw new InflateError(`an over-subscribed ${what} code`);
    }
    this.bits = bits;
    const size = 1 << bits;
    entries.fill(0, 0, size);
    for (let s = 0; s < count; s++) {
      const len = lengths[s];
      if (len === 0) continue;
      const reversed = reverseBits(nextCode[len]++, len);
      for (let i = reversed; i < size; i += 1 << len) entries[i] = (s << 4) | len;
    }
  }
}

function reverseBits(code: number, length: number): number {
  let reversed = 0;
  for (let i = 0; i < length; i++, code >>>= 1) reversed = (reversed << 1) | (code & 1);
  return reversed;
}

const fixedLiteralLengths = new HuffmanTable();
const fixedDistances = new HuffmanTable();
{
  const lengths = new Uint8Array(288);
  lengths.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  fixedLiteralLengths.build(lengths, 288, 'literal/length');
  fixedDistances.build(new Uint8Array(30).fill(5), 30, 'distance');
}
const dynamicLiteralLengths = new HuffmanTable();
const dynamicDistances = new HuffmanTable();
const codeLengthCode = new HuffmanTable();
const codeLengths = new Uint8Array(288 + 32);

/**
 * Inflates the zlib stream `input` into out[0 … limit) and returns the number of bytes it produced;
 * throws an InflateError for a corrupt stream or one that inflates to more than `limit` bytes.
 * `outView` is a DataView over the same bytes as `out`, from the same start; limit <= out.length.
 */
export function inflateZlibInto(input: Uint8Array, out: Uint8Array, outView: DataView, limit: number): number {
  if (input.length < 2) throw new InflateError('no zlib header');
  const cmf = input[0];
  const flg = input[1];
  if ((cmf & 15) !== 8 || cmf >> 4 > 7 || (cmf * 256 + flg) % 31 !== 0) throw new InflateError('a bad zlib header');
  if (flg & 0x20) throw new InflateError('a preset dictionary, which PNG does not use');

  const inputEnd = input.length;
  const outEnd = limit;
  // The bit reader, least significant bit first: input[at] is the next byte to buffer. Bytes past
  // the input read as zeros; a stream that used any of them is refused once its block ends (until
  // then the output bound stops it).
  let at = 2;
  let bitBuffer = 0;
  let bitCount = 0;
  const fill = (n: number): void => {
    while (bitCount < n) {
      if (at < inputEnd) bitBuffer |= input[at] << bitCount;
      at++;
      bitCount += 8;
    }
  };
  const take = (n: number): number => {
    fill(n);
    const value = bitBuffer & ((1 << n) - 1);
    bitBuffer >>>= n;
    bitCount -= n;
    return value;
  };
  const decode = (table: HuffmanTable): number => {
    fill(table.bits);
    const entry = table.entries[bitBuffer & ((1 << table.bits) - 1)];
    const length = entry & 15;
    if (length === 0) throw new InflateError('an invalid Huffman code');
    bitBuffer >>>= length;
    bitCount -= length;
    return entry >> 4;
  };
  const endsEarly = () => at - (bitCount >> 3) > inputEnd;

  let produced = 0;
  for (let last = false; !last;) {
    last = take(1) === 1;
    const type = take(2);
    if (type === 0) {
      // Stored: byte-aligned LEN, its complement, then LEN raw bytes.
      at -= bitCount >> 3;
      bitBuffer = 0;
      bitCount = 0;
      if (at + 4 > inputEnd) throw new InflateError('the stream ends early');
      const length = input[at] | (input[at + 1] << 8);
      if ((length ^ (input[at + 2] | (input[at + 3] << 8))) !== 0xffff)
        throw new InflateError('a stored block whose length check fails');
      at += 4;
      if (at + length > inputEnd) throw new InflateError('the stream ends early');
      if (produced + length > outEnd) throw outputFull();
      out.set(input.subarray(at, at + length), produced);
      at += length;
      produced += length;
      continue;
    }
    let literals = fixedLiteralLengths;
    let distances = fixedDistances;
    if (type === 2) {
      readDynamicCodes(take, decode);
      literals = dynamicLiteralLengths;
      distances = dynamicDistances;
    } else if (type !== 1) throw new InflateError('block type 3, which DEFLATE does not define');
    produced = inflateBlock(literals, distances, produced);
    if (endsEarly()) throw new InflateError('the stream ends early');
  }
  return produced;

  /**
   * The symbols of one Huffman-coded block, from output index `produced` on; returns where the block
   * ended. The bit reader is inlined: 25 buffered bits cover a literal/length code and its extra
   * bits, and again a distance code, so each match refills at most twice.
   */
  function inflateBlock(literals: HuffmanTable, distances: HuffmanTable, produced: number): number {
    const literalEntries = literals.entries;
    const literalMask = (1 << literals.bits) - 1;
    const distanceEntries = distances.entries;
    const distanceMask = (1 << distances.bits) - 1;
    let buffer = bitBuffer;
    let count = bitCount;
    let next = at;
    // Output past the limit from a stream that read past its end is the truncation, not too much data.
    const full = () => (next - (count >> 3) > inputEnd ? new InflateError('the stream ends early') : outputFull());
    try {
      for (;;) {
        while (count < 25) {
          if (next < inputEnd) buffer |= input[next] << count;
          next++;
          count += 8;
        }
        let entry = literalEntries[buffer & literalMask];
        let codeLength = entry & 15;
        if (codeLength === 0) throw new InflateError('an invalid Huffman code');
        buffer >>>= codeLength;
        count -= codeLength;
        const symbol = entry >> 4;
        if (symbol < 256) {
          if (produced >= outEnd) throw full();
          out[produced++] = symbol;
          continue;
        }
        if (symbol === 256) return produced;
        const lengthCode = symbol - 257;
        if (lengthCode >= 29) throw new InflateError(`length symbol ${symbol}, which DEFLATE does not define`);
        let extra = LENGTH_EXTRA[lengthCode];
        const length = LENGTH_BASE[lengthCode] + (buffer & ((1 << extra) - 1));
        buffer >>>= extra;
        count -= extra;
        while (count < 25) {
          if (next < inputEnd) buffer |= input[next] << count;
          next++;
          count += 8;
        }
        entry = distanceEntries[buffer & distanceMask];
        codeLength = entry & 15;
        if (codeLength === 0) throw new InflateError('an invalid Huffman code');
        buffer >>>= codeLength;
        count -= codeLength;
        const distanceCode = entry >> 4;
        if (distanceCode >= 30)
          throw new InflateError(`distance symbol ${distanceCode}, which DEFLATE does not define`);
        extra = DISTANCE_EXTRA[distanceCode];
        if (count < extra) {
          if (next < inputEnd) buffer |= input[next] << count;
          next++;
          count += 8;
        }
        const distance = DISTANCE_BASE[distanceCode] + (buffer & ((1 << extra) - 1));
        buffer >>>= extra;
        count -= extra;
        if (distance > produced) throw new InflateError('a distance before the start of the data');
        const end = produced + length;
        if (end > outEnd) throw full();
        copyMatch(out, outView, produced, distance, end);
        produced = end;
      }
    } finally {
      bitBuffer = buffer;
      bitCount = count;
      at = next;
    }
  }
}

/**
 * Copies out[to − distance …] forward to out[to … end), overlapping as DEFLATE means (a distance
 * shorter than the length repeats the last `distance` bytes). Pixel runs (distance 1 to 4) are
 * written as 32-bit words of their repeating pattern, 12 bytes (the least common multiple of 3 and
 * 4) per step; longer distances copy 32-bit words, whose source bytes are then always complete.
 */
function copyMatch(out: Uint8Array, view: DataView, to: number, distance: number, end: number): void {
  if (distance <= 4) {
    const from = to - distance;
    const b0 = out[from];
    const b1 = out[from + (1 % distance)];
    const b2 = out[from + (2 % distance)];
    const b3 = out[from + (3 % distance)];
    // The pattern's bytes at to + 0…11, as three little-endian words.
    const word0 = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
    const word1 = distance === 3 ? b1 | (b2 << 8) | (b0 << 16) | (b1 << 24) : word0;
    const word2 = distance === 3 ? b2 | (b0 << 8) | (b1 << 16) | (b2 << 24) : word0;
    for (; to + 12 <= end; to += 12) {
      view.setInt32(to, word0, true);
      view.setInt32(to + 4, word1, true);
      view.setInt32(to + 8, word2, true);
    }
    for (; to < end; to++) out[to] = out[to - distance];
    return;
  }
  if (distance >= end - to && end - to >= 64) {
    out.copyWithin(to, to - distance, end - distance);
    return;
  }
  for (; to + 4 <= end; to += 4) view.setInt32(to, view.getInt32(to - distance, true), true);
  for (; to < end; to++) out[to] = out[to - distance];
}

/** Reads a dynamic block's code lengths (RFC 1951 3.2.7) and builds its two codes. */
function readDynamicCodes(take: (n: number) => number, decode: (table: HuffmanTable) => number): void {
  const literalCount = take(5) + 257;
  const distanceCount = take(5) + 1;
  const codeLengthCount = take(4) + 4;
  if (literalCount > 286 || distanceCount > 30) throw new InflateError('a dynamic block with too many codes');
  const lengthsOfCodeLengths = new Uint8Array(19);
  for (let i = 0; i < codeLengthCount; i++) lengthsOfCodeLengths[CODE_LENGTH_ORDER[i]] = take(3);
  codeLengthCode.build(lengthsOfCodeLengths, 19, 'code-length');
  const total = literalCount + distanceCount;
  for (let i = 0; i < total;) {
    const symbol = decode(codeLengthCode);
    if (symbol < 16) {
      codeLengths[i++] = symbol;
      continue;
    }
    let repeat: number;
    let value = 0;
    if (symbol === 16) {
      if (i === 0) throw new InflateError('a repeated code length with none before it');
      value = codeLengths[i - 1];
      repeat = 3 + take(2);
    } else repeat = symbol === 17 ? 3 + take(3) : 11 + take(7);
    if (i + repeat > total) throw new InflateError('code lengths past the end of the list');
    codeLengths.fill(value, i, i + repeat);
    i += repeat;
  }
  if (codeLengths[256] === 0) throw new InflateError('a block without an end-of-block code');
  dynamicLiteralLengths.build(codeLengths, literalCount, 'literal/length');
  dynamicDistances.build(codeLengths.subarray(literalCount, total), distanceCount, 'distance');
}

/**
 * Seeded mutation fuzzing of every parser of outside bytes (issue 13). Each target has valid seed
 * inputs; each case mutates one (bit flips, interesting bytes, cut, duplicated or deleted ranges,
 * and for JSON targets numbers swapped for hostile ones) and must end in a correct parse or a
 * DearliError, within the time and memory budget of test/hostile.ts. Same seed, same cases.
 */
import { Rng } from '../../src/core/rng';
import { DearliError } from '../../src/core/errors';
import { bounded, HOSTILE_BUDGET } from '../hostile';

export interface FuzzTarget {
  name: string;
  /** Valid inputs to mutate (built once). */
  seeds: () => Promise<Uint8Array[]>;
  /** Parses one input; a DearliError or a return counts as handled. */
  run: (bytes: Uint8Array) => Promise<unknown>;
  /** Whether the input is text (numbers in it are mutated too). */
  text?: boolean;
  /** How many leading bytes of an input hold what is parsed (the rest is payload, mutated rarely). */
  parsedPrefix?: (bytes: Uint8Array) => number;
}

export interface FuzzFailure {
  target: string;
  caseIndex: number;
  reason: string;
  input: Uint8Array;
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x2c, 0x5b, 0x7b, 0x7d];
const HOSTILE_NUMBERS = [
  '-1',
  '0',
  '1e300',
  '4294967296',
  '9007199254740993',
  '-0',
  '1.5',
  '65536',
  '2147483648',
  'null',
  '"x"',
  '[]',
  '{}',
];

/** One mutation of `input`, chosen by `rng`. */
function mutate(input: Uint8Array, rng: Rng, text: boolean): Uint8Array {
  const bytes = input.slice();
  const at = () => rng.int(0, Math.max(0, bytes.length - 1));
  const kind = rng.int(0, text ? 7 : 6);
  switch (kind) {
    case 0: {
      // flip bits
      for (let n = rng.int(1, 4); n > 0 && bytes.length; n--) bytes[at()] ^= 1 << rng.int(0, 7);
      return bytes;
    }
    case 1: {
      // interesting bytes
      for (let n = rng.int(1, 3); n > 0 && bytes.length; n--) bytes[at()] = rng.pick(INTERESTING);
      return bytes;
    }
    case 2: // truncate
      return bytes.subarray(0, at());
    case 3: {
      // delete a range
      const a = at();
      return concatBytes(bytes.subarray(0, a), bytes.subarray(a + rng.int(1, 64)));
    }
    case 4: {
      // duplicate a range
      const a = at();
      const b = Math.min(bytes.length, a + rng.int(1, 256));
      return concatBytes(bytes.subarray(0, b), bytes.subarray(a, b), bytes.subarray(b));
    }
    case 5: {
      // random 32-bit word (sizes, offsets, lengths)
      if (bytes.length < 4) return bytes;
      const a = rng.int(0, bytes.length - 4);
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(
        a,
        rng.pick([0, 0xffffffff, 0x7fffffff, 0x80000000, rng.nextUint32()]),
        rng.next() < 0.5,
      );
      return bytes;
    }
    case 6: {
      // random bytes
      for (let n = rng.int(1, 16); n > 0 && bytes.length; n--) bytes[at()] = rng.int(0, 255);
      return bytes;
    }
    default: {
      // a number in the text replaced by a hostile value
      const text = new TextDecoder().decode(bytes);
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e[+-]?\d+)?/g)];
      if (numbers.length === 0) return bytes;
      const m = rng.pick(numbers);
      return new TextEncoder().encode(
        text.slice(0, m.index) + rng.pick(HOSTILE_NUMBERS) + text.slice(m.index! + m[0].length),
      );
    }
  }
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Runs `cases` mutated inputs against `target`; returns the failures (empty when every case was handled). */
export async function fuzz(
  target: FuzzTarget,
  cases: number,
  seed: number,
): Promise<{ failures: FuzzFailure[]; parsed: number; refused: number }> {
  const seeds = await target.seeds();
  const rng = new Rng(seed);
  const failures: FuzzFailure[] = [];
  let parsed = 0;
  let refused = 0;
  for (let i = 0; i < cases; i++) {
    const seedInput = rng.pick(seeds);
    const split =
      target.parsedPrefix && rng.next() < 0.9
        ? Math.min(seedInput.length, target.parsedPrefix(seedInput))
        : seedInput.length;
    let input = seedInput.subarray(0, split);
    for (let n = rng.int(1, 3); n > 0; n--) input = mutate(input, rng, target.text ?? false);
    if (split < seedInput.length) input = concatBytes(input, seedInput.subarray(split));
    const outcome = await bounded(() => target.run(input));
    let reason: string | null = null;
    if (outcome.error !== undefined && !(outcome.error instanceof DearliError))
      reason = `unnamed error: ${String((outcome.error as Error)?.stack ?? outcome.error).slice(0, 600)}`;
    else if (outcome.cpuMs > HOSTILE_BUDGET.cpuMs) reason = `took ${outcome.cpuMs.toFixed(0)} ms of CPU`;
    else if (outcome.extraBytes > HOSTILE_BUDGET.bytes) reason = `used ${(outcome.extraBytes / 2 ** 20).toFixed(0)} MB`;
    if (reason) failures.push({ target: target.name, caseIndex: i, reason, input });
    else if (outcome.error) refused++;
    else parsed++;
  }
  return { failures, parsed, refused };
}

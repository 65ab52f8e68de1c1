/**
 * Reference fixtures for parity tests, in Node (fs) and in Chromium (served by Vite under /@fs).
 * Location: $DEARLI_FIXTURES when set, else test/fixtures/reference, the copy this repository carries (see vitest.config.ts).
 * Tolerances come from the fixture files themselves, never from the tests.
 */
import { SafetensorsFile, type LoadedTensor, type TensorData } from '../src/models/weights/safetensors';

export const FIXTURES_DIR: string = __DEARLI_FIXTURES__;
export const IN_BROWSER = typeof window !== 'undefined';

/** A missing input fails the test with the path and the variable that sets it; nothing is skipped. */
function missingFixtureMessage(abs: string, why: string): string {
  return (
    `fixture ${abs} could not be read (${why}). The parity tests read ${FIXTURES_DIR}: set DEARLI_FIXTURES to a fixture ` +
    `set of the reference format, or unset it to use the copy in test/fixtures/reference.`
  );
}

export async function readFixtureBytes(rel: string): Promise<Uint8Array> {
  const abs = `${FIXTURES_DIR}/${rel}`;
  if (IN_BROWSER) {
    const res = await fetch(`/@fs${abs}`);
    if (!res.ok) throw new Error(missingFixtureMessage(abs, `HTTP ${res.status}`));
    return new Uint8Array(await res.arrayBuffer());
  }
  const fsName = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(abs));
  } catch (e) {
    throw new Error(missingFixtureMessage(abs, (e as NodeJS.ErrnoException).code ?? String(e)), { cause: e });
  }
}

async function readFixtureText(rel: string): Promise<string> {
  return new TextDecoder().decode(await readFixtureBytes(rel));
}

export async function readFixtureJson<T = unknown>(rel: string): Promise<T> {
  return JSON.parse(await readFixtureText(rel)) as T;
}

export async function openFixtureSafetensors(rel: string): Promise<SafetensorsFile> {
  const bytes = await readFixtureBytes(rel);
  return SafetensorsFile.open(new Blob([bytes as BlobPart]), rel);
}

/** Reads every tensor of a fixture file into memory (fixtures are small). */
export async function loadFixtureTensors(rel: string): Promise<Map<string, LoadedTensor>> {
  const file = await openFixtureSafetensors(rel);
  const out = new Map<string, LoadedTensor>();
  for (const name of file.names) out.set(name, await file.read(name));
  return out;
}

export interface TolerancePattern {
  match: string;
  atol?: number;
  rtol?: number;
  exact?: boolean;
  /** SAM binary masks: exact only where the named condition holds (evaluated by the test that owns it). */
  exact_where?: string;
  note?: string;
}

/** Python fnmatch (case-sensitive on POSIX): *, ?, [seq], [!seq]. */
function fnmatch(name: string, pattern: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 1);
      if (j < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, j);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(name);
}

/** The first pattern whose glob matches wins, as the fixture README prescribes. */
export function toleranceFor(name: string, patterns: TolerancePattern[]): TolerancePattern {
  const p = patterns.find((q) => fnmatch(name, q.match));
  if (!p) throw new Error(`no tolerance pattern in the fixtures matches tensor "${name}"`);
  return p;
}

export interface Comparison {
  ok: boolean;
  maxAbsDiff: number;
  worstIndex: number;
  failures: number;
  message: string;
}

/** Elementwise |a - e| <= atol + rtol·|e| (or exact equality); a readable summary either way. */
export function compareToReference(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: TolerancePattern,
  where?: (i: number) => boolean,
): Comparison {
  if (actual.length !== expected.length) {
    return {
      ok: false,
      maxAbsDiff: Infinity,
      worstIndex: -1,
      failures: expected.length,
      message: `${name}: ${actual.length} values, expected ${expected.length}`,
    };
  }
  const exact = tol.exact === true || tol.exact_where !== undefined;
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  let maxAbsDiff = 0;
  let worstIndex = -1;
  let failures = 0;
  for (let i = 0; i < expected.length; i++) {
    if (where && !where(i)) continue;
    const d = Math.abs(actual[i] - expected[i]);
    const bad = exact ? actual[i] !== expected[i] : !(d <= atol + rtol * Math.abs(expected[i]));
    if (bad) failures++;
    if (d > maxAbsDiff || Number.isNaN(d)) {
      maxAbsDiff = Number.isNaN(d) ? Infinity : d;
      worstIndex = i;
    }
  }
  const rule = exact ? 'exact' : `atol ${atol}, rtol ${rtol}`;
  const message = `${name}: max |diff| ${maxAbsDiff.toExponential(3)} (${rule})${failures ? `, ${failures} values out of tolerance, worst at ${worstIndex}: got ${actual[worstIndex]}, expected ${expected[worstIndex]}` : ''}`;
  return { ok: failures === 0, maxAbsDiff, worstIndex, failures, message };
}

/** Throws with the comparison message when a tensor is outside its fixture tolerance. */
export function expectMatchesReference(
  name: string,
  actual: ArrayLike<number> | TensorData,
  expected: ArrayLike<number> | TensorData,
  patterns: TolerancePattern[],
  where?: (i: number) => boolean,
): Comparison {
  const c = compareToReference(name, actual, expected, toleranceFor(name, patterns), where);
  if (!c.ok) throw new Error(c.message);
  return c;
}

/**
 * Seeded mutation fuzzing in `npm test` (issue 13): a fixed seed and 2,000 cases per parser; every
 * case ends in a correct parse or a named DearliError within the budget. Longer campaigns:
 * `npm run fuzz -- --cases N --seed S` (sets FUZZ_CASES and FUZZ_SEED).
 */
import { describe, expect, it } from 'vitest';
import { fuzz } from './fuzz';
import { FUZZ_TARGETS } from './targets';

const CASES = Number(process.env.FUZZ_CASES ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? 13);

describe(`fuzzing, ${CASES} cases per parser, seed ${SEED}`, () => {
  for (const target of FUZZ_TARGETS) {
    it(target.name, async () => {
      const { failures, parsed, refused } = await fuzz(target, CASES, SEED);
      const shown = failures
        .slice(0, 3)
        .map(
          (f) =>
            `case ${f.caseIndex}: ${f.reason}\n  input (base64, first 2 kB): ${Buffer.from(f.input.subarray(0, 2048)).toString('base64')}`,
        );
      expect(shown.join('\n'), `${failures.length} of ${CASES} cases failed`).toBe('');
      expect(parsed + refused).toBe(CASES);
      // Both outcomes must occur, or the mutations would not be exercising the parser.
      expect(refused).toBeGreaterThan(0);
    });
  }
});

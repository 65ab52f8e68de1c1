// `npm run fuzz -- --cases N --seed S`: the fuzzers of test/fuzz with more cases or another seed
// (npm test runs them with 2,000 cases and seed 13).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { cases: { type: 'string', default: '2000' }, seed: { type: 'string', default: '13' } },
});
for (const [name, v] of Object.entries(values)) {
  if (!/^\d+$/.test(v)) {
    console.error(
      `--${name} must be a non-negative integer, got ${JSON.stringify(v)}\nusage: npm run fuzz -- --cases N --seed S`,
    );
    process.exit(2);
  }
}
const env = { ...process.env, FUZZ_CASES: values.cases, FUZZ_SEED: values.seed };
const r = spawnSync('npx', ['vitest', 'run', '--project', 'node', 'test/fuzz/fuzz.test.ts', '--testTimeout', '0'], {
  stdio: 'inherit',
  env,
});
process.exit(r.status ?? 1);

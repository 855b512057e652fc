/**
 * `npm run fuzz`: the raw-protocol fuzzer with a long budget, one fresh server per seed.
 *
 *   npm run fuzz -- [--seeds N | --seed S[,S...]] [--duration SECONDS] [--actions N] [--only I[,I-J...]]
 *
 * Defaults: 10 random seeds, 60 s and 2000 actions each. `--only 3,10-20` sends just those actions of one
 * seed (to find the input that fails). Failing seeds are printed: add them to REGRESSION_SEEDS in
 * raw-protocol-fuzz.test.ts. Exit status 1 when any seed failed.
 */
import { parseArgs } from 'node:util';
import { runFuzz } from './runner.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    seed: { type: 'string' },
    duration: { type: 'string', default: '60' },
    actions: { type: 'string', default: '2000' },
    only: { type: 'string' },
  },
});

// Exiting runs child-server's exit handler, which kills the server under test.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/** `7` or `0-99`. */
function indices(spec: string): number[] {
  const [from, to = from] = spec.split('-').map(Number);
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

const seeds = values.seed ? values.seed.split(',').map(Number) : Array.from({ length: Number(values.seeds) }, () => Math.floor(Math.random() * 1e9));
const failed: number[] = [];
for (const seed of seeds) {
  try {
    await runFuzz({
      seed,
      actions: Number(values.actions),
      durationMs: Number(values.duration) * 1000,
      only: values.only ? new Set(values.only.split(',').flatMap(indices)) : undefined,
      log: (line) => console.log(line),
    });
  } catch (err) {
    console.error((err as Error).message);
    failed.push(seed);
  }
}
console.log(failed.length ? `[fuzz] failing seeds: ${failed.join(', ')} (add them to REGRESSION_SEEDS in tests/fuzz/raw-protocol-fuzz.test.ts)` : `[fuzz] ${seeds.length} seed(s) passed`);
process.exit(failed.length ? 1 : 0);

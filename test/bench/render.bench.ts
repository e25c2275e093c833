/**
 * npm run bench [-- --scenario cohort|personal]: the render benchmarks.
 *
 * - `cohort` (default, cohort-scenario.ts): 9 fixture profiles × 3 locales with the same 8
 *   products, so most recipients share a cohort render.
 * - `personal` (personal-scenario.ts): a generated 200-product catalog and recipients who each
 *   have their own products, names, segments, offers and carts, as real campaigns send them.
 *
 * Each scenario reads its own flags; see its file. `--thread` runs the personal scenario in a
 * worker thread, as the batch render threads run (src/http/batch/render-thread.ts), so its
 * memory figures are that thread's heap: what one render thread keeps.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { parseArgs } from '../../src/cli/parse-args.ts';

const SCENARIOS = { cohort: './cohort-scenario.ts', personal: './personal-scenario.ts' } as const;

const { flags } = parseArgs(process.argv.slice(2));
const scenario = flags.get('scenario') ?? 'cohort';
if (typeof scenario !== 'string' || !(scenario in SCENARIOS)) {
  throw new Error(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}; got ${String(scenario)}`);
}
if (flags.get('thread') === true) {
  if (scenario !== 'personal') throw new Error('--thread measures the personal scenario; add --scenario personal');
  // V8 flags are per process: set before the thread starts, its contexts can collect on demand.
  setFlagsFromString('--expose-gc');
  // --max-old-mb N: the thread's old generation capped, as `resourceLimits` would cap a batch
  // thread's (V8 then lets garbage grow less before collecting; src/http/batch sets none).
  const cap = flags.get('max-old-mb');
  const maxOld = typeof cap === 'string' ? { resourceLimits: { maxOldGenerationSizeMb: Number(cap) } } : {};
  // The thread gets the same arguments (process.argv after its entry file) and its own loader.
  const worker = new Worker(new URL('./personal-thread-entry.mjs', import.meta.url), { argv: process.argv.slice(2), ...maxOld });
  const code = await new Promise<number>((resolve, reject) => worker.once('error', reject).once('exit', resolve));
  if (code !== 0) process.exitCode = code;
} else {
  await import(SCENARIOS[scenario as keyof typeof SCENARIOS]);
}

/**
 * npm run bench [-- --scenario cohort|personal]: the render benchmarks.
 *
 * - `cohort` (default, cohort-scenario.ts): 9 fixture profiles × 3 locales with the same 8
 *   products, so most recipients share a cohort render.
 * - `personal` (personal-scenario.ts): a generated 200-product catalog and recipients who each
 *   have their own products, names, segments, offers and carts, as real campaigns send them.
 *
 * Each scenario reads its own flags; see its file.
 */
import { parseArgs } from '../../src/cli/parse-args.ts';

const SCENARIOS = { cohort: './cohort-scenario.ts', personal: './personal-scenario.ts' } as const;

const scenario = parseArgs(process.argv.slice(2)).flags.get('scenario') ?? 'cohort';
if (typeof scenario !== 'string' || !(scenario in SCENARIOS)) {
  throw new Error(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}; got ${String(scenario)}`);
}
await import(SCENARIOS[scenario as keyof typeof SCENARIOS]);

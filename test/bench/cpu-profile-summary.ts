/**
 * Where a render's CPU goes: the top self-time functions of a V8 CPU profile and the share of
 * each render step.
 *
 *   npm run bench -- --scenario personal --cpu-prof /tmp/personal.cpuprofile
 *   npx tsx test/bench/cpu-profile-summary.ts /tmp/personal.cpuprofile [--top 15] [--inclusive a,b]
 *
 * Self time is counted in samples. A frame belongs to a step by its file (the rules below);
 * Node internals, V8 builtins and the shared memo modules (object-serial, interned,
 * view-caches) have no step of their own and count for the step of their nearest caller
 * that has one. Handlebars-compiled template code has no file (it is built with `new
 * Function`) and is recognised by that. Then the total (self and callees) of the render's main
 * functions (`--inclusive` names others). Prints tables, then one JSON line.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from '../../src/cli/parse-args.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Steps by file, first match wins; `undefined`: counts for the caller's step. */
const RULES: [RegExp, string | undefined][] = [
  [/\/handlebars\/.*utils\.js$/, 'escaping (Handlebars escapeExpression)'],
  [/\/handlebars\//, 'Handlebars runtime'],
  [/\/src\/render\/(handlebars-env|locale-strings)\.ts$/, 'template helpers (t, money, …)'],
  [/\/src\/render\/cohort-cache\.ts$/, 'cohort cache (markers, JSON key, split, fill)'],
  [/\/src\/render\/tidy-text\.ts$/, 'text tidy / one-line'],
  [/\/src\/render\/build-view\.ts$|\/src\/shared\/(format|safe-url|plain-text|data-text)\.ts$|\/src\/personalize\/|\/src\/commerce\/message-product-view\.ts$/, 'view building'],
  [/\/src\/render\/(object-serial|interned|view-caches)\.ts$/, undefined],
  [/\/src\/shared\/memo\.ts$/, undefined],
  [/\/src\/channels\/whatsapp\//, 'WhatsApp part'],
  [/\/src\/commerce\/|internal\/crypto/, 'token signing (HMAC)'],
  [/\/src\/render\/encode-result\.ts$|zlib|gzip/, 'encoding / gzip'],
  [/\/src\/render\/render-message\.ts$/, 'render core (render-message.ts)'],
  [/\/src\/templates\/compile-template\.ts$/, 'HTML post-pass (compile-template.ts: conditional merge)'],
  [/\/mjml|\/html-minifier|\/juice|\/cheerio|\/htmlparser2/, 'MJML'],
  [/\/html-to-text\//, 'html-to-text'],
  [/\/zod\//, 'validation (zod)'],
  [/\/test\//, 'bench harness'],
  [/^node:|^internal\//, undefined],
];

function stepOfFrame(frame: CallFrame): string | undefined {
  const { url, functionName, lineNumber } = frame;
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)' || functionName === '(idle)' || functionName === '(root)') return 'VM (program, idle)';
  if (url === '') return lineNumber >= 0 ? 'Handlebars template code (compiled)' : undefined;
  for (const [pattern, step] of RULES) if (pattern.test(url)) return step;
  return 'other';
}

function shortUrl(url: string): string {
  const at = url.search(/\/(src|test|node_modules)\//);
  return at === -1 ? url : url.slice(at + 1).replace(/^node_modules\/(?:.*\/)?node_modules\//, 'node_modules/');
}

/** Render functions whose inclusive share is printed by default (names as in src/, any file). */
const INCLUSIVE = ['renderMessage', 'renderEmail', 'cohortOf', 'channelView', 'buildViewBase', 'productList', 'productView', 'buildCart', 'renderWhatsApp', 'splitAtMarkers', 'cohortKey', 'signTokenJson', 'signPayload'];

export function summarise(profile: Profile, top: number, inclusiveNames: readonly string[] = INCLUSIVE) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);

  const stepCache = new Map<number, string>();
  const stepOf = (id: number): string => {
    const cached = stepCache.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id)!;
    const own = stepOfFrame(node.callFrame);
    const up = parent.get(id);
    const step = own ?? (up === undefined ? 'other' : stepOf(up));
    stepCache.set(id, step);
    return step;
  };

  const total = profile.samples.length;
  const functions = new Map<string, { samples: number; step: string }>();
  const steps = new Map<string, number>();
  for (const [id, n] of hits) {
    const node = byId.get(id)!;
    const f = node.callFrame;
    const step = stepOf(id);
    // Compiled template functions are many small anonymous ones: one row for all of them.
    const name =
      f.url === '' && f.lineNumber >= 0 ? '(Handlebars-compiled template functions)' : `${f.functionName || '(anonymous)'} ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '(native)'}`;
    const key = `${name}\u0000${step}`;
    const row = functions.get(key) ?? { samples: 0, step };
    row.samples += n;
    functions.set(key, row);
    steps.set(step, (steps.get(step) ?? 0) + n);
  }
  // A sample counts once for a function however deep it recurses.
  const wanted = new Set(inclusiveNames);
  const inclusive = new Map<string, number>();
  for (const [id, n] of hits) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!wanted.has(f.functionName) || !f.url) continue;
      const name = `${f.functionName} ${shortUrl(f.url)}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + n);
    }
  }
  const pct = (n: number) => Math.round((n / total) * 1000) / 10;
  return {
    samples: total,
    top: [...functions]
      .sort((a, b) => b[1].samples - a[1].samples)
      .slice(0, top)
      .map(([key, row]) => ({ function: key.split('\u0000')[0]!, step: row.step, self_pct: pct(row.samples) })),
    steps: [...steps].sort((a, b) => b[1] - a[1]).map(([step, n]) => ({ step, self_pct: pct(n) })),
    inclusive: [...inclusive].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ function: name, total_pct: pct(n) })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  const file = positional[0];
  if (!file) throw new Error('usage: npx tsx test/bench/cpu-profile-summary.ts PROFILE.cpuprofile [--top 15] [--inclusive a,b]');
  const names = flags.get('inclusive');
  const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(flags.get('top') ?? 15), typeof names === 'string' ? names.split(',') : undefined);
  console.log(`${summary.samples} samples\n\nself %  step · function`);
  for (const row of summary.top) console.log(`${row.self_pct.toFixed(1).padStart(6)}  ${row.step} · ${row.function}`);
  console.log('\nself %  step');
  for (const row of summary.steps) console.log(`${row.self_pct.toFixed(1).padStart(6)}  ${row.step}`);
  console.log('\ntotal %  function (self and callees)');
  for (const row of summary.inclusive) console.log(`${row.total_pct.toFixed(1).padStart(7)}  ${row.function}`);
  console.log(JSON.stringify(summary));
}

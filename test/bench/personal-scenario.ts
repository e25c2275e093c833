/**
 * npm run bench -- --scenario personal: recipients who each have their own products.
 *
 * Real campaigns send personal recommendations, so two recipients rarely share products,
 * offer, segments, points and sizes, and the cohort cache (render/cohort-cache.ts) rarely
 * hits. This scenario renders such a campaign (test/support/personal-campaign.ts): a generated
 * 200-product catalog with EUR/SEK/TRY prices, and recipients with their own 4–8 products,
 * names and ids, en/tr/sv, mixed personas, offers, and a cart for half of them.
 *
 * Passes, each on recipients no earlier pass rendered (their product lists are new, as in a
 * campaign; product views per product × market are warm, as in a campaign's steady state):
 * 1. warm-up (untimed, `--warmup`, its own cohort cache);
 * 2. the timed pass: `--recipients` through renderMessage with a fresh cohort cache, all parts
 *    (`compiled_per_sec`, `us_per_recipient`, `cohort_cache`; `memory_mb` is read around it);
 * 3. the per-recipient path without the cohort cache, split by part (`measureParts`, `--parts`
 *    recipients per loop): renderMessage chooses channels but not email parts, so HTML, AMP
 *    and text are timed on the template's own compiled functions (checked equal to the
 *    render's output), WhatsApp is the full render minus the email-only one, and the email
 *    view (base, view, tokens, subject) is the email-only render minus the three parts;
 * 4. the naive path (`--naive` recipients of the timed pass: Handlebars + MJML per recipient),
 *    its HTML compared byte for byte (`identical`, `naive_differing`); `ratio` is compiled/naive.
 * Times are CPU time of this process (user + system), so the rates are per core; the load
 * average is printed with them, as the machine may be shared.
 *
 * Flags: --recipients N (default 10000), --warmup N (3000), --parts N (1000), --naive N (200),
 * --seed N (1), --templates all (every template in round-robin instead of recommendations),
 * --products N (exactly N products per email instead of 4–8; a list such as 1,4,8,16 measures
 * each in turn, 3000 recipients and no naive pass unless given; templates that show fewer
 * than N have their maxItems raised to N for this process), --cpu-prof FILE (a V8 CPU
 * profile of the timed pass, for test/bench/cpu-profile-summary.ts; it slows the pass),
 * --thread (run in a worker thread, as a batch render thread: see render.bench.ts).
 * `memory_mb.kept` is what the render keeps once the bench's own requests are dropped
 * (collected heap + buffers; with --thread, that thread's).
 * Last line: one JSON object (see `measure`'s result; a series prints each point and a linear
 * fit of µs against products per email).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';
import { parseArgs } from '../../src/cli/parse-args.ts';
import { CohortCache } from '../../src/render/cohort-cache.ts';
import type { RenderRequest } from '../../src/render/render-input.ts';
import { renderMessage, type RenderDeps, type RenderResult } from '../../src/render/render-message.ts';
import { tidyText } from '../../src/render/tidy-text.ts';
import type { CompiledTemplate, Render } from '../../src/templates/compile-template.ts';
import type { TemplateSet } from '../../src/templates/template-registry.ts';
import { createNaiveHtml, emailView } from '../support/naive-render.ts';
import { personalCatalog, personalRequests } from '../support/personal-campaign.ts';
import { NOW, renderKit, type RenderKit } from '../support/render-kit.ts';

const { flags } = parseArgs(process.argv.slice(2));
function count(name: string, fallback: number): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number; got ${String(v)}`);
  return n;
}
const productsFlag = flags.get('products');
const SERIES: (number | undefined)[] =
  productsFlag === undefined
    ? [undefined]
    : String(productsFlag)
        .split(',')
        .map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`--products takes 1–20 (a request holds at most 20 picks), or a list such as 1,4,8,16; got ${s}`);
          return n;
        });
const IN_SERIES = SERIES.length > 1;
const RECIPIENTS = count('recipients', IN_SERIES ? 3000 : 10_000);
const WARMUP = count('warmup', 3000);
const PARTS = Math.max(1, count('parts', 1000));
/** The parts' loops take turns in chunks of this many recipients (the first one untimed). */
const PARTS_CHUNK = 250;
const NAIVE = count('naive', IN_SERIES ? 0 : 200);
const SEED = count('seed', 1);
const ALL_TEMPLATES = flags.get('templates') === 'all';
const CPU_PROF = flags.get('cpu-prof');
const THREAD = !isMainThread;
if (CPU_PROF === true) throw new Error('--cpu-prof takes a file name, e.g. --cpu-prof /tmp/personal.cpuprofile');

// Memory is read on a collected heap: what the render keeps, not what it has yet to collect.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// With --thread: the process before this thread built anything (the main thread, node, tsx).
const rssAtStart = process.memoryUsage().rss;

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

const kit = await renderKit();
const catalogList = personalCatalog(SEED);
const catalog = new Map(catalogList.map((p) => [p.sku, p]));
const loadBefore = loadavg().map((x) => round(x, 2));

/** The template set with the named templates showing at least `n` products (a bench-only change). */
function withMaxItems(templates: TemplateSet, names: readonly string[], n: number): { templates: TemplateSet; raised: string[] } {
  const map = new Map(templates.templates);
  const raised: string[] = [];
  for (const name of names) {
    const t = map.get(name)!;
    const rec = t.manifest.data.recommendations;
    if (!rec || rec.maxItems >= n) continue;
    raised.push(`${name} ${rec.maxItems}→${n}`);
    map.set(name, { ...t, manifest: { ...t.manifest, data: { ...t.manifest.data, recommendations: { ...rec, maxItems: n } } } });
  }
  return { templates: { ...templates, templates: map }, raised };
}

async function measure(products: number | undefined) {
  const names = ALL_TEMPLATES ? [...kit.templates.templates.keys()] : ['recommendations'];
  const { templates, raised } = products === undefined ? { templates: kit.templates, raised: [] } : withMaxItems(kit.templates, names, products);
  const manifests = names.map((name) => templates.templates.get(name)!.manifest);
  const uncached: RenderDeps = { ...kit.deps, templates, catalog: (sku) => catalog.get(sku), cohorts: undefined };
  const benchKit: RenderKit = { ...kit, templates, deps: uncached };
  // Every pass draws its own recipients: a set number per pass, distinct seeds and ids.
  const recipients = (set: number, n: number) =>
    personalRequests(catalogList, { seed: SEED * 100 + set, count: n, templates: manifests, products, now: NOW, idPrefix: `p${SEED}-${set}` });

  const warmup = recipients(1, WARMUP);
  const settle = Math.min(250, warmup.length);
  {
    // The warm-up's cohort cache goes with it: the timed pass starts with an empty one.
    const warm: RenderDeps = { ...uncached, cohorts: new CohortCache() };
    for (let i = 0; i < warmup.length - settle; i++) renderMessage(warmup[i]!, warm);
  }

  // Which parts each template must return: all four, where the template has them.
  const expects = new Map<string, { amp: boolean; whatsapp: boolean; maxItems: number }>();
  for (const m of manifests) {
    const t = templates.templates.get(m.name)!;
    expects.set(m.name, { amp: t.ampSource !== undefined, whatsapp: t.whatsapp !== undefined && m.channels.includes('whatsapp'), maxItems: m.data.recommendations?.maxItems ?? 0 });
  }

  // In a thread the timed pass's requests are made a chunk at a time (untimed), as a batch
  // thread parses one line at a time: all of them at once (~2.6 KB each, 52 MB for 20,000)
  // would be counted as the thread's, and V8 would let its heap grow in proportion.
  const chunk = THREAD ? 1000 : RECIPIENTS;
  const chunkAt = (from: number) => (chunk === RECIPIENTS ? recipients(2, RECIPIENTS) : recipients(1000 + from / chunk, Math.min(chunk, RECIPIENTS - from)));
  let requests = chunkAt(0);
  const sample = requests.slice(0, Math.max(NAIVE, 5));
  let withCart = 0;
  let withDiscount = 0;
  const cohorts = new CohortCache();
  const main: RenderDeps = { ...uncached, cohorts };
  let shown = 0;
  let bytes = 0;
  let partsOk = true;
  const locales: Record<string, number> = {};
  const segments: Record<string, number> = {};
  const whatsapp: Record<string, number> = {};
  gc();
  const before = process.memoryUsage();
  // The last warm-up renders come after the collection: a full collection shrinks V8's young
  // generation, and the timed pass would otherwise start by growing it back.
  for (let i = warmup.length - settle; i < warmup.length; i++) renderMessage(warmup[i]!, uncached);
  const profiler = CPU_PROF ? await startProfiler() : undefined;
  const fragments = main.fragments;
  const fragmentsBefore = fragments ? { ...fragments.stats } : undefined;
  let mainSeconds = 0;
  let mainWall = 0;
  for (let from = 0; from < RECIPIENTS; from += chunk) {
    if (from > 0) requests = chunkAt(from);
    const wall0 = performance.now();
    const t0 = process.cpuUsage();
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      const r = renderMessage(request, main);
      const e = r.email!;
      const want = expects.get(request.template)!;
      bytes += (e.amp?.length ?? 0) + e.html.length + e.text.length;
      if (!e.html || !e.text || (want.amp && !e.amp) || (want.whatsapp && !r.whatsapp)) partsOk = false;
      // No pick is sold out or in the cart (personal-campaign.ts): the template shows up to its maximum.
      shown += Math.min(request.recommendations?.items.length ?? 0, want.maxItems);
      locales[r.locale] = (locales[r.locale] ?? 0) + 1;
      for (const s of r.segments) segments[s] = (segments[s] ?? 0) + 1;
      const wa = r.whatsapp === undefined ? 'none' : r.whatsapp.suppressed ? `suppressed_${r.whatsapp.reason}` : r.whatsapp.kind;
      whatsapp[wa] = (whatsapp[wa] ?? 0) + 1;
    }
    mainSeconds += cpuSeconds(t0);
    mainWall += (performance.now() - wall0) / 1000;
    withCart += requests.filter((r) => r.cart ?? r.profile.cart).length;
    withDiscount += requests.filter((r) => r.recommendations?.offer?.percentOff).length;
  }
  if (profiler) await profiler.stop(CPU_PROF as string);
  const memory = process.memoryUsage();
  gc();
  const retained = process.memoryUsage();
  // What the render keeps, without this bench's own data (the passes' requests):
  // templates, catalog, and every cache and memo after this many recipients of their own.
  requests.length = 0;
  warmup.length = 0;
  gc();
  const kept = process.memoryUsage();

  const split = measureParts(benchKit, (set, channels) => recipients(set, PARTS_CHUNK + PARTS).map((r) => (channels ? { ...r, channels } : r)));

  let naiveSeconds = 0;
  let differing = 0;
  if (NAIVE > 0) {
    const naiveHtml = createNaiveHtml(benchKit, NOW);
    for (const r of sample.slice(0, 5)) await naiveHtml(r, renderMessage(r, uncached));
    const n0 = process.cpuUsage();
    for (const request of sample.slice(0, NAIVE)) {
      // AMP, text and WhatsApp as the render makes them, the HTML through Handlebars + MJML.
      const r = renderMessage(request, uncached);
      if ((await naiveHtml(request, r)) !== r.email!.html) differing++;
    }
    naiveSeconds = cpuSeconds(n0);
  }

  const us = (seconds: number, n: number) => round((seconds * 1e6) / n);
  const compiledPerSec = RECIPIENTS / mainSeconds;
  const naivePerSec = NAIVE > 0 ? NAIVE / naiveSeconds : undefined;
  return {
    scenario: 'personal',
    template: ALL_TEMPLATES ? 'all (round-robin)' : 'recommendations',
    recipients: RECIPIENTS,
    catalog: catalogList.length,
    products: products === undefined ? '4-8' : products,
    products_mean: round(shown / RECIPIENTS, 2),
    ...(raised.length ? { max_items_raised: raised } : {}),
    parts_ok: partsOk,
    compiled_per_sec: round(compiledPerSec),
    us_per_recipient: us(mainSeconds, RECIPIENTS),
    wall_per_sec: round(RECIPIENTS / mainWall),
    cohort_cache: { ...cohorts.stats },
    // Product cards over the timed pass (fragment-cache.ts): skipped = part renders a closed gate sent to the one-pass render.
    fragment_cache: fragments && fragmentsBefore ? Object.fromEntries(Object.entries(fragments.stats).map(([k, v]) => [k, v - fragmentsBefore[k as keyof typeof fragmentsBefore]])) : undefined,
    uncached_us: us(split.full, PARTS),
    parts_us: {
      html: us(split.html, PARTS),
      amp: us(split.amp, PARTS),
      text: us(split.text, PARTS),
      whatsapp: us(split.full - split.email, PARTS),
      email_view: us(split.email - split.html - split.amp - split.text, PARTS),
    },
    whatsapp_only_us: us(split.whatsapp, PARTS),
    // The email view alone, for recipients whose product list the render has memoised (their
    // first render came before): the difference to `email_view` is what a new list costs.
    view_memoised_us: us(split.view, PARTS),
    parts_sample: PARTS,
    parts_identical: split.identical,
    kb_per_recipient: round(bytes / RECIPIENTS / 1024),
    // Before: after the warm-up, with this pass's requests generated (the bench's own data);
    // the growth is what the timed pass left behind: caches (cohorts, views, lists) and garbage.
    memory_mb: {
      rss_before: mb(before.rss),
      rss: mb(memory.rss),
      heap_before: mb(before.heapUsed),
      heap_used: mb(memory.heapUsed),
      // The heap V8 had reserved at the end of the pass: garbage and all, what the thread costs in rss.
      heap_total: mb(memory.heapTotal),
      heap_after_gc: mb(retained.heapUsed),
      heap_growth_after_gc: mb(retained.heapUsed - before.heapUsed),
      external: mb(retained.external),
      max_rss: mb(process.resourceUsage().maxRSS * 1024),
      // In a thread (--thread) these are that thread's heap and buffers; rss is the process's.
      thread: THREAD,
      heap_kept: mb(kept.heapUsed),
      external_kept: mb(kept.external),
      kept: mb(kept.heapUsed + kept.external),
      rss_kept: mb(kept.rss),
      rss_at_start: mb(rssAtStart),
    },
    ...(naivePerSec !== undefined ? { naive_per_sec: round(naivePerSec, 1), naive_sample: NAIVE, ratio: round(compiledPerSec / naivePerSec, 1), identical: differing === 0, naive_differing: differing } : {}),
    mix: { locales, segments, whatsapp, with_cart: withCart, with_discount_offer: withDiscount },
    warmup: WARMUP,
    ...(CPU_PROF ? { profiled: CPU_PROF } : {}),
  };
}

/**
 * The per-recipient path without the cohort cache, split by part, on recipients no other pass
 * rendered (a set each: all parts, email only, WhatsApp only, and one for the email parts).
 * The email parts' compiled functions run on views built as the render builds them (its
 * first, untimed, render of each recipient gives variant, id, subject and preheader), and
 * their output is checked against the render's. The loops take turns in chunks, so a change
 * in the machine's load falls on all of them alike (the parts are differences of loops).
 */
function measureParts(benchKit: RenderKit, set: (n: number, channels?: RenderRequest['channels']) => RenderRequest[]) {
  const deps = benchKit.deps;
  const full = set(3);
  const emailOnly = set(4, ['email']);
  const whatsappOnly = set(5, ['whatsapp']);
  const requests = set(6);
  const results: RenderResult[] = requests.map((r) => renderMessage(r, deps));
  const fns = requests.map((r, i) => {
    const compiled: CompiledTemplate = benchKit.templates.templates.get(r.template)!;
    return compiled.email.get(results[i]!.locale) ?? compiled.email.get('en')!;
  });
  const views: object[] = new Array(requests.length);
  // Outputs are dropped, as a render drops them once sent: kept, they would survive into the
  // old generation and charge the copying to the loop.
  let length = 0;
  const text = (fn: Render | undefined, v: object) => (fn ? tidyText(fn(v)) : undefined);
  const loops = {
    full: (i: number) => void renderMessage(full[i]!, deps),
    email: (i: number) => void renderMessage(emailOnly[i]!, deps),
    whatsapp: (i: number) => void renderMessage(whatsappOnly[i]!, deps),
    view: (i: number) => void (views[i] = emailView(benchKit, requests[i]!, results[i]!, NOW)),
    html: (i: number) => void (length += fns[i]!.html!(views[i]!).length),
    amp: (i: number) => void (length += fns[i]!.amp?.(views[i]!).length ?? 0),
    // The text part is tidied after its pass, in the render too.
    text: (i: number) => void (length += text(fns[i]!.text, views[i]!)?.length ?? 0),
  };
  const seconds = { full: 0, email: 0, whatsapp: 0, view: 0, html: 0, amp: 0, text: 0 };
  // The first chunk is not timed: the email-only and WhatsApp-only paths meet the JIT there.
  // No collection between loops either: after a full collection V8 shrinks the young
  // generation, and the next loop then paid for scavenges (up to 4× the WhatsApp-only cost).
  for (let from = 0; from < requests.length; from += PARTS_CHUNK) {
    const to = Math.min(from + PARTS_CHUNK, requests.length);
    for (const name of Object.keys(loops) as (keyof typeof loops)[]) {
      const body = loops[name];
      const t0 = process.cpuUsage();
      for (let i = from; i < to; i++) body(i);
      if (from > 0) seconds[name] += cpuSeconds(t0);
    }
  }
  let identical = length > 0;
  for (let i = 0; i < requests.length; i++) {
    const e = results[i]!.email!;
    const v = views[i]!;
    if (fns[i]!.html!(v) !== e.html || fns[i]!.amp?.(v) !== e.amp || text(fns[i]!.text, v) !== e.text) identical = false;
  }
  return { ...seconds, identical };
}

async function startProfiler() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // Finer than --cpu-prof's 1 ms default: a recipient costs about that much.
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      // tsx runs a file as one minified line: positions go back to the TypeScript source (its
      // source maps), so functions, anonymous ones above all, can be told apart.
      for (const { callFrame: f } of profile.nodes) {
        if (!f.url.startsWith('file://') || f.lineNumber < 0) continue;
        const entry = findSourceMap(f.url)?.findEntry(f.lineNumber, f.columnNumber);
        if (entry && 'originalLine' in entry) {
          f.lineNumber = entry.originalLine;
          f.columnNumber = entry.originalColumn;
        }
      }
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const runs = [];
for (const products of SERIES) {
  const report = await measure(products);
  runs.push(report);
  const p = report.parts_us;
  console.log(
    `${report.template}, ${report.products} products (mean ${report.products_mean}), ${RECIPIENTS} recipients of their own, all parts: ${report.parts_ok ? 'ok' : 'MISSING'}`,
  );
  console.log(
    `compiled : ${report.compiled_per_sec} recipients/s (${report.us_per_recipient} µs each, ${report.kb_per_recipient} KB of email), cohort cache ${report.cohort_cache.hits} hits / ${report.cohort_cache.misses} misses / ${report.cohort_cache.bypassed} bypassed`,
  );
  console.log(
    `without the cohort cache: ${report.uncached_us} µs; parts (µs): html ${p.html}, amp ${p.amp}, text ${p.text}, whatsapp ${p.whatsapp}, email view ${p.email_view} (${PARTS} recipients; identical: ${report.parts_identical})`,
  );
  const m = report.memory_mb;
  console.log(`memory: rss ${m.rss_before} → ${m.rss} MB over the timed pass, heap ${m.heap_before} → ${m.heap_used} MB (${m.heap_after_gc} MB after gc: +${m.heap_growth_after_gc} MB)`);
  console.log(`kept by the ${m.thread ? 'render thread' : 'process'} without the bench's requests: ${m.kept} MB (heap ${m.heap_kept} MB + buffers ${m.external_kept} MB); heap reserved before gc ${m.heap_total} MB; process rss ${m.rss_at_start} MB at start, ${m.rss_kept} MB at the end`);
  if (report.naive_per_sec !== undefined) console.log(`naive    : ${report.naive_per_sec} recipients/s (${report.naive_sample} recipients), ratio ${report.ratio}×, HTML identical: ${report.identical}${report.naive_differing ? ` (${report.naive_differing} differ)` : ''}`);
}
const loadAfter = loadavg().map((x) => round(x, 2));
if (!IN_SERIES) {
  console.log(JSON.stringify({ ...runs[0], load_avg: { before: loadBefore, after: loadAfter } }));
} else {
  const first = runs[0]!;
  const n = runs.map((r) => r.products as number);
  const fitOf = (ys: number[]) => {
    const f = linearFit(n, ys);
    return { fixed_us: round(f.intercept), per_product_us: round(f.slope, 1), r2: round(f.r2, 3) };
  };
  console.log(
    JSON.stringify({
      scenario: 'personal',
      template: first.template,
      recipients: RECIPIENTS,
      // Least squares over the series, µs = fixed + per_product × products: r2 near 1 is linear.
      fit: {
        render: fitOf(runs.map((r) => r.us_per_recipient)),
        uncached: fitOf(runs.map((r) => r.uncached_us)),
        html: fitOf(runs.map((r) => r.parts_us.html)),
        amp: fitOf(runs.map((r) => r.parts_us.amp)),
        text: fitOf(runs.map((r) => r.parts_us.text)),
        email_view: fitOf(runs.map((r) => r.parts_us.email_view)),
      },
      series: runs.map((r) => ({
        products: r.products,
        compiled_per_sec: r.compiled_per_sec,
        us_per_recipient: r.us_per_recipient,
        uncached_us: r.uncached_us,
        parts_us: r.parts_us,
        cohort_cache: r.cohort_cache,
        parts_ok: r.parts_ok && r.parts_identical,
        ...(r.max_items_raised ? { max_items_raised: r.max_items_raised } : {}),
        ...(r.naive_per_sec !== undefined ? { ratio: r.ratio } : {}),
      })),
      memory_mb: runs[runs.length - 1]!.memory_mb,
      load_avg: { before: loadBefore, after: loadAfter },
    }),
  );
}

function linearFit(xs: number[], ys: number[]): { intercept: number; slope: number; r2: number } {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { intercept: my - slope * mx, slope, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

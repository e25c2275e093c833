/**
 * npm run bench (scenario `cohort`, the default) — compiled render path against the naive one,
 * in one process on one core.
 *
 * Naive: per recipient, Handlebars over the whole MJML document, then MJML (what a render
 * without compile-once would do). Compiled: the service's render path for all four parts
 * (AMP, HTML, text, WhatsApp): precompiled Handlebars, with the email parts shared by a cohort
 * of recipients whose views differ only in name, ids and token (render/cohort-cache.ts), so
 * most recipients cost a view and a few string joins. A second, smaller timed pass without
 * the cohort cache shows what the precompiled Handlebars passes alone cost. The HTML of every
 * naive render is compared byte for byte with the compiled one.
 *
 * Flags: --recipients N (default 3000), --naive N (naive sample size, default 300),
 * --warmup N (untimed renders first, default 12000).
 * Last line: {"template":…,"recipients":…,"naive_per_sec":…,"compiled_per_sec":…,"ratio":…,"identical":…}
 */
import { parseArgs } from '../../src/cli/parse-args.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import type { RenderRequest } from '../../src/render/render-input.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { createNaiveHtml } from '../support/naive-render.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { flags } = parseArgs(process.argv.slice(2));
const RECIPIENTS = Number(flags.get('recipients') ?? 3000);
const NAIVE = Number(flags.get('naive') ?? 300);
const TEMPLATE = 'recommendations';

const kit = await renderKit();
const { templates, fixtures, deps } = kit;
const compiled = templates.templates.get(TEMPLATE)!;
const picks = fixtures.recommendations.get('picks-8')!;
if (picks.items.length !== 8) throw new Error('the benchmark expects 8 recommended products');

const profileNames = [...fixtures.profiles.keys()].filter((n) => n !== 'hostile');
const LOCALES = ['en', 'tr', 'sv'];
const requests: RenderRequest[] = Array.from({ length: RECIPIENTS }, (_, i) => {
  const base = sampleRequest(compiled.manifest, fixtures, profileNames[i % profileNames.length]!, { now: NOW, locale: LOCALES[i % 3] });
  return {
    ...base,
    profile: { ...base.profile, id: `${base.profile.id}-${i}`, firstName: base.profile.firstName ? `${base.profile.firstName} ${i}` : undefined },
    recommendations: picks,
    channels: ['email', 'whatsapp'],
    context: { ...base.context, messageId: `bench-${i}` },
  };
});

const naiveHtml = createNaiveHtml(kit, NOW);

// Warm-up, not timed: a campaign renders millions of recipients, so the figure that matters is
// the steady state after the JIT has optimised the hot path. Measured in rounds of 3,000 on the
// bench machine (2026-11-22, after the render changes of that day): ~230 µs per recipient in the
// first round, ~85 in the second, ~81 in the third, ~70 in the fourth, then 64–68 from the
// fifth on. So the warm-up covers four rounds and the timed pass is the fifth. It renders the
// very request objects that are timed (copies made with spreads have other hidden classes, which
// the timed loop would then meet for the first time). It also fills the cohort cache, as the
// first recipients of a campaign do.
const WARMUP = Number(flags.get('warmup') ?? 12000);
for (let i = 0; i < WARMUP; i++) renderMessage(requests[i % requests.length]!, deps);

// Results are dropped as they come (only their sizes are summed): holding thousands of whole
// messages would measure the garbage collector, not the renderer.
let bytes = 0;
let partsOk = true;
// CPU time of this process (user + system): on a shared 2-core machine, wall time would
// also count whatever else runs; the figure is "recipients per second of one core".
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};
let t0 = process.cpuUsage();
for (let i = 0; i < requests.length; i++) {
  const r = renderMessage(requests[i]!, deps);
  const e = r.email!;
  bytes += e.amp!.length + e.html.length + e.text.length;
  if (!e.amp || !e.html || !e.text || !r.whatsapp) partsOk = false;
}
const compiledSeconds = cpuSeconds(t0);

const UNCACHED = Math.min(1000, RECIPIENTS);
const uncachedDeps = { ...deps, cohorts: undefined };
t0 = process.cpuUsage();
for (let i = 0; i < UNCACHED; i++) renderMessage(requests[i]!, uncachedDeps);
const uncachedSeconds = cpuSeconds(t0);

for (const r of requests.slice(0, 5)) await naiveHtml(r, renderMessage(r, deps));
let identical = true;
t0 = process.cpuUsage();
for (let i = 0; i < NAIVE; i++) {
  // AMP, text and WhatsApp cost the same Handlebars passes in both paths, so the naive
  // recipient renders them too (renderMessage), plus its HTML through Handlebars + MJML. It also
  // pays the compiled HTML pass inside renderMessage: under 1% of its time, left in for simplicity.
  const r = renderMessage(requests[i]!, deps);
  const html = await naiveHtml(requests[i]!, r);
  if (html !== r.email!.html) identical = false;
}
const naiveSeconds = cpuSeconds(t0);

const naivePerSec = NAIVE / naiveSeconds;
const compiledPerSec = RECIPIENTS / compiledSeconds;
console.log(`template ${TEMPLATE}, 8 products, ${RECIPIENTS} recipients (${profileNames.length} profiles × 3 locales), all four parts: ${partsOk ? 'ok' : 'MISSING'}`);
console.log(`naive    : ${naivePerSec.toFixed(1)} recipients/s (${NAIVE} recipients, ${(naiveSeconds * 1000 / NAIVE).toFixed(2)} ms each)`);
console.log(`compiled : ${compiledPerSec.toFixed(0)} recipients/s (${(compiledSeconds * 1e6 / RECIPIENTS).toFixed(0)} µs each, ${(bytes / RECIPIENTS / 1024).toFixed(0)} KB of email per recipient)`);
console.log(`compiled without the cohort cache: ${(UNCACHED / uncachedSeconds).toFixed(0)} recipients/s (${(uncachedSeconds * 1e6 / UNCACHED).toFixed(0)} µs each, ${UNCACHED} recipients)`);
console.log(JSON.stringify({
  template: TEMPLATE,
  recipients: RECIPIENTS,
  naive_per_sec: Math.round(naivePerSec * 10) / 10,
  compiled_per_sec: Math.round(compiledPerSec),
  ratio: Math.round((compiledPerSec / naivePerSec) * 10) / 10,
  identical,
}));

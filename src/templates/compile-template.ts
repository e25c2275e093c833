import { createHash } from 'node:crypto';
import { envForUnit } from './helper-envs.ts';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import { createRequire } from 'node:module';
import { checkWhatsAppSpec } from './whatsapp-limits.ts';
import type { CompileCache, CompiledArtifacts } from './compile-cache.ts';
import { expandMjml } from './expand-mjml.ts';
import { lintHandlebars, lintMjml } from './lint-template.ts';
import type { SharedSources, TemplateSources } from './read-template-sources.ts';
import { substituteBrandTokens } from './brand.ts';
import { lineAt, TemplateError } from './template-error.ts';
import { cardTemplate, splitProductCards, type CardPart, type CardPartName } from './split-product-cards.ts';
import type { TemplateManifest, WhatsAppManifest, WhatsAppMessageSpec } from './template-manifest.ts';

const require = createRequire(import.meta.url);
/** Bumped when the compile pipeline changes, so old disk-cache entries are not reused. */
const PIPELINE_VERSION = [
  'inboxcart-compile-4',
  (require('handlebars/package.json') as { version: string }).version,
  (require('mjml/package.json') as { version: string }).version,
].join('|');

export type Render = (data: unknown, options?: { data?: { root: unknown; [name: string]: unknown } }) => string;

export interface CompiledMessage {
  type: WhatsAppMessageSpec['type'];
  body: Render;
  title?: Render;
  subtitle?: Render;
  media?: Render[];
  actions?: { type: 'QUICK_REPLY' | 'URL' | 'PHONE_NUMBER'; id?: Render; title: Render; url?: Render; phone?: Render }[];
  button?: Render;
  itemsFrom?: string;
  item?: { id: Render; item: Render; description?: Render };
  /**
   * Every field in one Handlebars pass (see combinedSource): each top-level Handlebars call
   * re-wraps every helper, which cost more than the fields themselves for WhatsApp messages.
   */
  all: Render;
  /** The field names in `all`'s order, before the list rows. */
  fields: string[];
}

/** Separators of the combined WhatsApp render: control characters, which WhatsApp views strip from data. */
export const FIELD = '\u0001';
export const CELL = '\u0002';
export const ROW = '\u0003';

/** The fields of a WhatsApp message in a fixed order, each with its Handlebars source. */
function messageFields(m: WhatsAppMessageSpec): [string, string][] {
  const out: [string, string][] = [['body', m.body]];
  if (m.title !== undefined) out.push(['title', m.title]);
  if (m.subtitle !== undefined) out.push(['subtitle', m.subtitle]);
  m.media?.forEach((src, i) => out.push([`media.${i}`, src]));
  m.actions?.forEach((a, i) => {
    out.push([`actions.${i}.title`, a.title]);
    if (a.id !== undefined) out.push([`actions.${i}.id`, a.id]);
    if (a.url !== undefined) out.push([`actions.${i}.url`, a.url]);
    if (a.phone !== undefined) out.push([`actions.${i}.phone`, a.phone]);
  });
  if (m.button !== undefined) out.push(['button', m.button]);
  return out;
}

/**
 * One template for a whole message: the fields joined by FIELD, then the list rows rendered by
 * `{{#each}}` (row as context, the view as @root, as when each row rendered alone), cells
 * joined by CELL and rows ended by ROW.
 */
function combinedSource(m: WhatsAppMessageSpec): string {
  const fields = messageFields(m).map(([, src]) => src);
  if (m.item && m.itemsFrom) {
    const cells = [m.item.id, m.item.item, m.item.description ?? ''].join(CELL);
    fields.push(`{{#each ${m.itemsFrom}}}${cells}${ROW}{{/each}}`);
  }
  return fields.join(FIELD);
}

export interface CompiledWhatsApp {
  manifest: WhatsAppManifest;
  session: CompiledMessage;
  approved: {
    name: string;
    category: 'MARKETING' | 'UTILITY';
    content: CompiledMessage;
    variables: Map<string, Render>;
    /** All variables in one pass, joined by FIELD, in `variableKeys` order. */
    variablesAll: Render;
    variableKeys: string[];
  };
  /** The signed payloads each kind of message reads, so a render signs only those. */
  needs: { session: PayloadNeeds; approved: PayloadNeeds };
}

function variableKeys(variables: Record<string, string>): string[] {
  return Object.keys(variables).sort((a, b) => Number(a) - Number(b));
}

/** `payloads.<key>` names, and whether product rows read their own `payload`. */
export interface PayloadNeeds {
  keys: string[];
  productPayload: boolean;
}

/**
 * Which signed payloads a WhatsApp message's Handlebars reads, found in its source. Each one
 * costs an HMAC per recipient; signing only what the message shows keeps that to two for an
 * approved template and ten for a session list.
 */
export function payloadNeeds(...sources: unknown[]): PayloadNeeds {
  const text = JSON.stringify(sources);
  const keys = [...new Set([...text.matchAll(/\bpayloads\.(\w+)/g)].map((m) => m[1]!))];
  return { keys, productPayload: /\{\{\s*payload\s*\}\}/.test(text) };
}

export interface CompiledTemplate {
  name: string;
  manifest: TemplateManifest;
  hash: string;
  /** The full MJML document (layout + partials + brand) before MJML: the naive path's input. */
  mjmlDocument?: string;
  mjmlWarnings: string[];
  /** email.amp.hbs as written, to map validator errors back to template lines. */
  ampSource?: string;
  /** The email parts per locale (strings baked in at compile time). */
  email: Map<string, EmailRenders>;
  whatsapp?: CompiledWhatsApp;
}

export interface EmailRenders {
  subject: Render;
  preheader: Render;
  variants: Map<string, { subject?: Render; preheader?: Render }>;
  html?: Render;
  amp?: Render;
  text?: Render;
  /** The parts whose product cards render through the fragment cache (render/fragment-cache.ts). */
  cards: Partial<Record<CardPartName, CardPart>>;
  /** Strings this locale lacks (English was baked in instead), reported with every render. */
  warnings: string[];
}

/** The generic environment (runtime `t`) and one per locale whose partials have strings baked in. */
export interface HandlebarsEnvs {
  generic: typeof Handlebars;
  byLocale: Map<string, typeof Handlebars>;
}

const STATIC_T = /\{\{\s*t\s+(?:"([\w.-]+)"|'([\w.-]+)')\s*\}\}/g;
const RAW_BLOCK = /\{\{\{\{raw\}\}\}\}[\s\S]*?\{\{\{\{\/raw\}\}\}\}/g;

/**
 * Bakes `{{t "key"}}` calls without arguments into the source for one locale: a recipient's
 * render then spends nothing on them. Strings with `{` or `\` stay dynamic (they would need
 * Handlebars escaping), as does anything inside raw blocks (AMP's own mustache templates).
 */
export function localizeSource(
  source: string,
  locale: string,
  locales: ReadonlyMap<string, ReadonlyMap<string, string>>,
  escape: (value: string) => string,
): { source: string; warnings: string[] } {
  const table = locales.get(locale);
  const english = locales.get('en');
  const warnings: string[] = [];
  const bake = (segment: string) =>
    segment.replace(STATIC_T, (call, dq: string | undefined, sq: string | undefined) => {
      const key = (dq ?? sq)!;
      const own = table?.get(key);
      const value = own ?? english?.get(key);
      if (value === undefined || /[{}\\]/.test(value)) return call;
      if (own === undefined) warnings.push(`locale string '${key}' is missing in '${locale}'; used English`);
      return escape(value);
    });
  let out = '';
  let last = 0;
  for (const m of source.matchAll(RAW_BLOCK)) {
    out += bake(source.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return { source: out + bake(source.slice(last)), warnings };
}

interface Unit {
  source: string;
  noEscape: boolean;
  file: string;
  /** Email parts are compiled once per locale with their static strings baked in. */
  localized?: boolean;
}

/** Twilio's numbered content variables ({{1}}) must survive Handlebars untouched. */
function keepTwilioVariables(text: string): string {
  return text.replace(/\{\{(\d+)\}\}/g, '\\{{$1}}');
}

function messageUnits(prefix: string, m: WhatsAppMessageSpec, file: string, units: Map<string, Unit>, twilioVars: boolean): void {
  const add = (key: string, source: string | undefined) => {
    if (source !== undefined) units.set(`${prefix}.${key}`, { source: twilioVars ? keepTwilioVariables(source) : source, noEscape: true, file });
  };
  add('body', m.body);
  add('title', m.title);
  add('subtitle', m.subtitle);
  m.media?.forEach((s, i) => add(`media.${i}`, s));
  m.actions?.forEach((a, i) => {
    add(`actions.${i}.id`, a.id);
    add(`actions.${i}.title`, a.title);
    add(`actions.${i}.url`, a.url);
    add(`actions.${i}.phone`, a.phone);
  });
  add('button', m.button);
  if (m.item) {
    add('item.id', m.item.id);
    add('item.item', m.item.item);
    add('item.description', m.item.description);
  }
  add('all', combinedSource(m));
}

function collectUnits(sources: TemplateSources, shared: SharedSources, skeleton: string | undefined): Map<string, Unit> {
  const units = new Map<string, Unit>();
  const manifestPath = sources.manifestFile.path;
  const m = sources.manifest;
  units.set('subject', { source: m.subject, noEscape: true, file: manifestPath, localized: true });
  units.set('preheader', { source: m.preheader, noEscape: true, file: manifestPath, localized: true });
  for (const v of m.variants) {
    if (v.subject) units.set(`variant.${v.id}.subject`, { source: v.subject, noEscape: true, file: manifestPath, localized: true });
    if (v.preheader) units.set(`variant.${v.id}.preheader`, { source: v.preheader, noEscape: true, file: manifestPath, localized: true });
  }
  if (skeleton !== undefined) units.set('html', { source: skeleton, noEscape: false, file: sources.mjml!.path, localized: true });
  const brandOnly = (file: { path: string; text: string }) =>
    substituteBrandTokens(file.text, shared.brand, (token, offset) => {
      throw new TemplateError(file.path, lineAt(file.text, offset), `unknown brand token ${token}.`);
    });
  if (sources.amp) units.set('amp', { source: brandOnly(sources.amp), noEscape: false, file: sources.amp.path, localized: true });
  if (sources.text) units.set('text', { source: brandOnly(sources.text), noEscape: true, file: sources.text.path, localized: true });
  if (sources.whatsapp && sources.whatsappFile) {
    const file = sources.whatsappFile.path;
    messageUnits('wa.session', sources.whatsapp.session, file, units, false);
    messageUnits('wa.approved.content', sources.whatsapp.approved.content, file, units, true);
    for (const [k, v] of Object.entries(sources.whatsapp.approved.variables)) {
      units.set(`wa.approved.variables.${k}`, { source: v, noEscape: true, file });
    }
    const keys = variableKeys(sources.whatsapp.approved.variables);
    units.set('wa.approved.variables.all', { source: keys.map((k) => sources.whatsapp!.approved.variables[k]).join(FIELD), noEscape: true, file });
  }
  return units;
}

export function templateHash(sources: TemplateSources, shared: SharedSources): string {
  const h = createHash('sha256').update(PIPELINE_VERSION);
  const feed = (label: string, text: string | undefined) => h.update(`\u0000${label}\u0000${text ?? ''}`);
  feed('manifest', sources.manifestFile.text);
  feed('mjml', sources.mjml?.text);
  feed('amp', sources.amp?.text);
  feed('text', sources.text?.text);
  feed('whatsapp', sources.whatsappFile?.text);
  feed('brand', shared.brandSource);
  for (const [n, f] of [...shared.mjmlPartials, ...shared.mjmlLayouts, ...shared.hbsPartials]) feed(n, f.text);
  // Static strings are baked into each locale's compiled parts, so they are content too.
  for (const [locale, table] of shared.locales) feed(`locale:${locale}`, JSON.stringify([...table]));
  return h.digest('hex').slice(0, 32);
}

/** Lint every file of a template; throws the first problems together. */
export function lintTemplate(sources: TemplateSources, shared: SharedSources): TemplateError[] {
  const errors: TemplateError[] = [];
  // Follow the include graph from the layout: a partial is linted as MJML structure where it is
  // placed between components, and only for Handlebars rules where it is text inside mj-text.
  const seen = new Set<string>();
  const visit = (file: { path: string; text: string } | undefined, mode: 'document' | 'fragment') => {
    if (!file || seen.has(`${mode}:${file.path}`)) return;
    seen.add(`${mode}:${file.path}`);
    const includes = { inline: new Set<string>(), structural: new Set<string>() };
    const found = lintMjml(file.path, file.text, mode, includes);
    errors.push(...found);
    for (const name of includes.structural) visit(name === 'content' ? sources.mjml : shared.mjmlPartials.get(name), 'fragment');
    for (const name of includes.inline) {
      const partial = shared.mjmlPartials.get(name);
      if (partial) errors.push(...lintHandlebars(partial.path, partial.text));
    }
  };
  if (sources.mjml) visit(shared.mjmlLayouts.get(sources.manifest.layout), 'document');
  for (const f of [sources.amp, sources.text, sources.mjml, sources.whatsappFile]) {
    if (f) errors.push(...lintHandlebars(f.path, f.text));
  }
  if (sources.whatsapp && sources.whatsappFile) errors.push(...checkWhatsAppSpec(sources.whatsappFile.path, sources.whatsapp));
  return errors;
}

/**
 * Declaring the helpers lets Handlebars call them directly and treat every other name as
 * data, instead of checking for a helper on each `{{value}}` (measured: ~25% of render time).
 * An unknown helper then fails at compile time, which is where a designer wants to hear it.
 */
function knownHelpers(hb: typeof Handlebars): { knownHelpers: Record<string, true>; knownHelpersOnly: true } {
  return { knownHelpers: Object.fromEntries(Object.keys(hb.helpers).map((h) => [h, true])), knownHelpersOnly: true };
}

export class TemplateCompileError extends Error {
  constructor(readonly errors: TemplateError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'TemplateCompileError';
  }
}

async function runMjml(document: string, file: string): Promise<{ html: string; warnings: string[] }> {
  // MJML 5 returns a promise. Soft validation: MJML's complaints come back as warnings, which
  // `inboxcart validate` treats as failures and the preview shows.
  const result = await mjml2html(document, { validationLevel: 'soft', keepComments: false });
  const warnings = (result.errors ?? []).map((e: { line?: number; message?: string; formattedMessage?: string }) =>
    `${file}: MJML line ${e.line ?? '?'} of the expanded document: ${e.message ?? e.formattedMessage}`);
  return { html: result.html, warnings };
}

/**
 * Compiles one template version: lint, MJML once (with the Handlebars placeholders kept),
 * then Handlebars precompilation of every part. Results are cached by content hash.
 */
export async function compileTemplate(
  sources: TemplateSources,
  shared: SharedSources,
  envs: HandlebarsEnvs,
  cache: CompileCache,
): Promise<CompiledTemplate> {
  const hb = envs.generic;
  const lintErrors = lintTemplate(sources, shared);
  if (lintErrors.length > 0) throw new TemplateCompileError(lintErrors);

  const hash = templateHash(sources, shared);
  let artifacts = cache.get(hash);
  if (!artifacts) {
    const mjmlDocument = sources.mjml ? expandMjml(sources.mjml, sources.manifest.layout, shared) : undefined;
    const mj = mjmlDocument ? await runMjml(mjmlDocument, sources.mjml!.path) : undefined;
    const units = collectUnits(sources, shared, mj?.html);
    const specs: Record<string, string> = {};
    const cardReads: NonNullable<CompiledArtifacts['cardReads']> = {};
    const partialSources = new Map([...shared.hbsPartials].map(([name, file]) => [name, file.text]));
    const staticWarnings: Record<string, string[]> = {};
    const precompile = (key: string, unit: Unit, source: string) => {
      try {
        specs[key] = hb.precompile(source, { noEscape: unit.noEscape, preventIndent: true, ...knownHelpers(hb) }) as string;
      } catch (err) {
        const e = err as Error & { lineNumber?: number };
        throw new TemplateCompileError([new TemplateError(unit.file, e.lineNumber, `Handlebars: ${e.message.split('\n')[0]}`)]);
      }
    };
    for (const [key, unit] of units) {
      if (!unit.localized) {
        precompile(key, unit, unit.source);
        continue;
      }
      for (const locale of shared.locales.keys()) {
        const localized = localizeSource(unit.source, locale, shared.locales, unit.noEscape ? (v) => v : hb.Utils.escapeExpression);
        (staticWarnings[locale] ??= []).push(...localized.warnings.filter((w) => !staticWarnings[locale]!.includes(w)));
        precompile(`${locale}/${key}`, unit, localized.source);
        // The same part with its product cards cut out, for the fragment cache.
        if (CARD_PARTS.has(key)) {
          const split = splitProductCards(hb, localized.source, partialSources);
          if (split) {
            const options = { noEscape: unit.noEscape, preventIndent: true, ...knownHelpers(hb) };
            specs[`${locale}/${key}#main`] = hb.precompile(split.main, options) as string;
            split.cards.forEach((card, i) => (specs[`${locale}/${key}#card${i}`] = hb.precompile(card.program, options) as string));
            cardReads[`${locale}/${key}`] = split.cards.map((card) => card.reads);
          }
        }
      }
    }
    artifacts = { hash, mjmlDocument, skeleton: mj?.html, mjmlWarnings: mj?.warnings ?? [], specs, staticWarnings, cardReads } satisfies CompiledArtifacts;
    cache.set(artifacts);
  }
  return instantiate(sources, artifacts, envs, [...shared.locales.keys()]);
}

/**
 * MJML merges adjacent Outlook conditional comments (`<![endif]--><!--[if mso | IE]>`) as its
 * last step. A block helper between two sections keeps them apart at compile time; when the
 * block renders empty for a recipient they meet again, so the same merge runs after Handlebars.
 * Without it the output differs from MJML's own (the byte-equality test catches it).
 */
const ADJACENT_CONDITIONALS = /(<!\[endif]-->\s*?<!--\[if mso \| IE]>)/gm;

function needsConditionalMerge(skeleton: string): boolean {
  return /<!\[endif]-->\s*\{\{|\}\}\s*<!--\[if mso/.test(skeleton);
}

function instantiate(sources: TemplateSources, a: CompiledArtifacts, envs: HandlebarsEnvs, locales: string[]): CompiledTemplate {
  const fns = new Map<string, Render>();
  for (const [key, spec] of Object.entries(a.specs)) {
    // Specs are Handlebars' own precompiled output, produced above or read back from our cache.
    const templateSpec = new Function(`return ${spec}`)() as TemplateSpecification;
    const slash = key.indexOf('/');
    // A localized part runs in its locale's environment, whose partials carry the same strings.
    const env = slash > 0 ? (envs.byLocale.get(key.slice(0, slash)) ?? envs.generic) : envs.generic;
    // Handlebars' defaults already deny prototype access (since 4.6); no per-call options needed.
    fns.set(key, envForUnit(env, spec, (templateSpec as { usePartial?: boolean }).usePartial === true).template(templateSpec) as Render);
  }
  const get = (key: string) => fns.get(key);
  const must = (key: string) => fns.get(key)!;
  const message = (prefix: string, spec: WhatsAppMessageSpec): CompiledMessage => ({
    type: spec.type,
    body: must(`${prefix}.body`),
    title: get(`${prefix}.title`),
    subtitle: get(`${prefix}.subtitle`),
    media: spec.media?.map((_, i) => must(`${prefix}.media.${i}`)),
    actions: spec.actions?.map((act, i) => ({
      type: act.type,
      id: get(`${prefix}.actions.${i}.id`),
      title: must(`${prefix}.actions.${i}.title`),
      url: get(`${prefix}.actions.${i}.url`),
      phone: get(`${prefix}.actions.${i}.phone`),
    })),
    button: get(`${prefix}.button`),
    itemsFrom: spec.itemsFrom,
    item: spec.item
      ? { id: must(`${prefix}.item.id`), item: must(`${prefix}.item.item`), description: get(`${prefix}.item.description`) }
      : undefined,
    all: must(`${prefix}.all`),
    fields: messageFields(spec).map(([name]) => name),
  });

  const email = new Map<string, EmailRenders>();
  for (const locale of locales) {
    const p = `${locale}/`;
    email.set(locale, {
      subject: must(`${p}subject`),
      preheader: must(`${p}preheader`),
      variants: new Map(
        sources.manifest.variants.map((v) => [v.id, { subject: get(`${p}variant.${v.id}.subject`), preheader: get(`${p}variant.${v.id}.preheader`) }]),
      ),
      html: wrapHtml(get(`${p}html`), a.skeleton),
      amp: get(`${p}amp`),
      text: get(`${p}text`),
      cards: cardParts(p, a, get, (render) => wrapHtml(render, a.skeleton)!),
      warnings: a.staticWarnings?.[locale] ?? [],
    });
  }

  const wa = sources.whatsapp;
  return {
    name: sources.name,
    manifest: sources.manifest,
    hash: a.hash,
    mjmlDocument: a.mjmlDocument,
    mjmlWarnings: a.mjmlWarnings,
    ampSource: sources.amp?.text,
    email,
    whatsapp: wa
      ? {
          manifest: wa,
          session: message('wa.session', wa.session),
          approved: {
            name: wa.approved.name,
            category: wa.approved.category,
            content: message('wa.approved.content', wa.approved.content),
            variables: new Map(Object.keys(wa.approved.variables).map((k) => [k, must(`wa.approved.variables.${k}`)])),
            variablesAll: must('wa.approved.variables.all'),
            variableKeys: variableKeys(wa.approved.variables),
          },
          needs: { session: payloadNeeds(wa.session), approved: payloadNeeds(wa.approved.content, wa.approved.variables) },
        }
      : undefined,
  };
}

const CARD_PARTS = new Set<string>(['html', 'amp', 'text']);

function cardParts(prefix: string, a: CompiledArtifacts, get: (key: string) => Render | undefined, wrap: (render: Render) => Render): EmailRenders['cards'] {
  const out: EmailRenders['cards'] = {};
  for (const part of ['html', 'amp', 'text'] as const) {
    const reads = a.cardReads?.[`${prefix}${part}`];
    const main = get(`${prefix}${part}#main`);
    if (!reads || !main) continue;
    out[part] = {
      // The HTML post-pass runs on the whole part, after the cards are in, as on a full render.
      main: part === 'html' ? wrap(main) : main,
      cards: reads.map((r, i) => cardTemplate(get(`${prefix}${part}#card${i}`)!, r)),
    };
  }
  return out;
}

function wrapHtml(render: Render | undefined, skeleton: string | undefined): Render | undefined {
  if (!render || !skeleton || !needsConditionalMerge(skeleton)) return render;
  return (data) => render(data).replace(ADJACENT_CONDITIONALS, '');
}

import { randomUUID } from 'node:crypto';
import { convert } from 'html-to-text';
import type { AmpMessageContent, AmpTokenRequest } from '../commerce/amp-claims.ts';
import type { Product } from '../personalize/recommendations-schema.ts';
import type { SegmentThresholds } from '../personalize/segment-thresholds.ts';
import { assignVariant } from '../personalize/assign-variant.ts';
import type { SegmentName } from '../personalize/segments.ts';
import type { CompiledTemplate, PayloadNeeds } from '../templates/compile-template.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import type { Channel } from '../templates/template-manifest.ts';
import { planWhatsApp, renderWhatsApp, type WhatsAppRender } from '../channels/whatsapp/render-whatsapp.ts';
import Handlebars from 'handlebars';
import { CohortCache, countMarks, fillMarkers, MARK, MARKERS, splitAtMarkers, type MarkerValues } from './cohort-cache.ts';
import { buildView, TemplateDataError } from './build-view.ts';
import type { RenderRequest } from './render-input.ts';

export interface EmailParts {
  subject: string;
  preheader: string;
  amp?: string;
  html: string;
  text: string;
}

export interface RenderResult {
  id: string;
  template: string;
  variant?: string;
  locale: string;
  segments: SegmentName[];
  email?: EmailParts;
  whatsapp?: WhatsAppRender;
  warnings: string[];
}

export interface RenderDeps {
  templates: TemplateSet;
  thresholds: SegmentThresholds;
  catalog: (sku: string) => Product | undefined;
  publicBaseUrl: string;
  /** Signs the AMP access token for one message: who, which message, and what it shows. */
  signAmpToken: (claims: AmpTokenRequest) => string;
  signPayload: (data: string) => string;
  contentSid?: (key: string) => string | undefined;
  /** Customers who sent STOP on WhatsApp (from the consent store). */
  whatsappOptedOut?: (customerId: string) => boolean;
  now?: () => Date;
  newId?: () => string;
  /** Shares email renders between recipients whose views differ only in name, ids and token. */
  cohorts?: CohortCache;
}

const NO_PAYLOADS: PayloadNeeds = { keys: [], productPayload: false };

export class UnknownTemplateError extends Error {
  constructor(readonly template: string, readonly known: string[]) {
    super(`Unknown template '${template}'. Known templates: ${known.join(', ') || '(none)'}.`);
    this.name = 'UnknownTemplateError';
  }
}

export class UnknownVariantError extends TemplateDataError {
  constructor(template: string, variant: string, known: string[]) {
    super([{ path: 'variant', message: `template '${template}' has no variant '${variant}' (has: ${known.join(', ') || 'none'})` }]);
  }
}

/**
 * The render core: one recipient, one template, every requested channel. Pure apart from the
 * clock and id generator in `deps`; HTTP, CLI and preview all call this and nothing below it.
 *
 * @example
 * const result = renderMessage({ template: 'price-drop', profile, recommendations, context: {} }, deps);
 * result.email?.amp // the AMP4EMAIL document
 */
export function renderMessage(request: RenderRequest, deps: RenderDeps): RenderResult {
  const compiled = deps.templates.templates.get(request.template);
  if (!compiled) throw new UnknownTemplateError(request.template, [...deps.templates.templates.keys()]);
  const manifest = compiled.manifest;
  const now = request.context.now ? new Date(request.context.now) : (deps.now?.() ?? new Date());
  const messageId = request.context.messageId ?? (deps.newId ?? randomUUID)();

  const known = manifest.variants.map((v) => v.id);
  if (request.variant && !known.includes(request.variant)) throw new UnknownVariantError(manifest.name, request.variant, known);
  const variant = request.variant ?? assignVariant(request.profile.id, manifest.name, manifest.variants);

  const channels: Channel[] = (request.channels ?? manifest.channels).filter((c) => manifest.channels.includes(c));
  const warnings: string[] = [];
  for (const c of request.channels ?? []) if (!manifest.channels.includes(c)) warnings.push(`template '${manifest.name}' has no ${c} part`);

  // Signed at most once per message, with what the first view built shows; the email and
  // WhatsApp views of one message show the same products.
  let signed: string | undefined;
  const ampToken = (content: AmpMessageContent) =>
    (signed ??= deps.signAmpToken({ sub: request.profile.id, msg: messageId, cmp: request.context.campaignId, tpl: manifest.name, ...content }));
  const viewFor = (channel: 'email' | 'whatsapp', payloads?: PayloadNeeds) =>
    buildView(
      {
        manifest,
        profile: request.profile,
        recommendations: request.recommendations,
        cart: request.cart,
        order: request.order,
        locale: request.locale,
        variant,
        campaignId: request.context.campaignId,
        messageId,
        channel,
        payloads,
      },
      {
        brand: deps.templates.shared.brand,
        locales: deps.templates.shared.locales,
        thresholds: deps.thresholds,
        catalog: deps.catalog,
        now,
        publicBaseUrl: deps.publicBaseUrl,
        ampToken,
        signPayload: deps.signPayload,
      },
      warnings,
    );

  if (channels.includes('email') && compiled.ampSource && !deps.publicBaseUrl.startsWith('https://')) {
    warnings.push(`AMP endpoints use ${deps.publicBaseUrl}; mail clients only call https endpoints, so set PUBLIC_BASE_URL to the public https address`);
  }
  const result: RenderResult = { id: messageId, template: manifest.name, variant, locale: '', segments: [], warnings };
  if (channels.includes('email')) {
    const view = viewFor('email');
    result.locale = view.locale;
    result.segments = view.segmentList;
    result.email = renderEmail(compiled, view, variant, deps.cohorts);
  }
  if (channels.includes('whatsapp') && compiled.whatsapp) {
    const waDeps = { now, contentSid: deps.contentSid ?? (() => undefined), optedOut: deps.whatsappOptedOut?.(request.profile.id) ?? false };
    const plan = planWhatsApp(manifest.category, request.profile, waDeps);
    if (plan.suppressed) {
      result.whatsapp = plan;
      if (!result.email) {
        // Nothing is rendered, but the request is still checked against what the template needs
        // and the response still says whom the message was for: the view does both, unsigned.
        const view = viewFor('whatsapp', NO_PAYLOADS);
        result.locale = view.locale;
        result.segments = view.segmentList;
      }
    } else {
      const view = viewFor('whatsapp', plan.kind === 'session' ? compiled.whatsapp.needs.session : compiled.whatsapp.needs.approved);
      result.locale = view.locale;
      result.segments = view.segmentList;
      result.whatsapp = renderWhatsApp(manifest.name, manifest.category, compiled.whatsapp, view, request.profile, view.locale, waDeps);
    }
  }
  // Helpers and views may report the same thing per product or per part; say it once.
  result.warnings = [...new Set(warnings)];
  return result;
}

type View = ReturnType<typeof buildView>;

function renderEmail(compiled: CompiledTemplate, view: View, variant: string | undefined, cohorts: CohortCache | undefined): EmailParts {
  const parts = compiled.email.get(view.locale) ?? compiled.email.get('en')!;
  for (const w of parts.warnings) view.warnings.push(w);
  const v = variant ? parts.variants.get(variant) : undefined;
  const subjectFn = v?.subject ?? parts.subject;
  const preheaderFn = v?.preheader ?? parts.preheader;

  // A derived text part is wrapped by width, which a marker would change: render those in full.
  const cohort = cohorts && parts.text ? cohortOf(compiled, view) : undefined;
  if (cohorts && !cohort) cohorts.stats.bypassed++;
  if (cohorts && cohort) {
    let entry = cohorts.get(cohort.key);
    if (!entry) {
      const helperWarnings: string[] = [];
      const cv = { ...cohort.view, warnings: helperWarnings };
      const subject = oneLine(subjectFn(cv));
      const preheader = oneLine(preheaderFn(cv));
      const withHeader = { ...cv, subject, preheader };
      const html = parts.html!(withHeader);
      const text = parts.text!(withHeader);
      entry = {
        subject: splitAtMarkers(subject),
        preheader: splitAtMarkers(preheader),
        html: splitAtMarkers(html),
        amp: parts.amp ? splitAtMarkers(parts.amp(withHeader)) : undefined,
        text: splitAtMarkers(text),
        warnings: helperWarnings,
      };
      cohorts.set(cohort.key, entry);
    }
    for (const w of entry.warnings) view.warnings.push(w);
    const escaped = cohort.escaped;
    return {
      subject: oneLine(fillMarkers(entry.subject, cohort.raw)),
      preheader: oneLine(fillMarkers(entry.preheader, cohort.raw)),
      amp: entry.amp ? fillMarkers(entry.amp, escaped) : undefined,
      html: fillMarkers(entry.html, escaped),
      text: tidyText(fillMarkers(entry.text, cohort.raw)),
    };
  }

  const subject = oneLine(subjectFn(view));
  const preheader = oneLine(preheaderFn(view));
  // The layout shows the preheader as hidden preview text, so it joins the view before the HTML pass.
  const withHeader = { ...view, subject, preheader };
  const html = parts.html!(withHeader);
  return {
    subject,
    preheader,
    amp: parts.amp?.(withHeader),
    html,
    text: parts.text ? tidyText(parts.text(withHeader)) : htmlToText(html),
  };
}

/**
 * The cohort a recipient's email belongs to (see cohort-cache.ts): the view with the
 * per-recipient values as markers, and those values for filling in. Undefined when this view
 * cannot be shared safely: a value that a part would transform differently in place (runs of
 * white space collapse in the subject) or data that already contains the marker character.
 */
function cohortOf(compiled: CompiledTemplate, view: View): { key: string; view: View; raw: MarkerValues; escaped: MarkerValues } | undefined {
  const firstName = view.firstName;
  const at = view.amp.offers.indexOf('?token=');
  const token = at === -1 ? '' : view.amp.offers.slice(at + 7);
  if (firstName !== undefined && (/\s\s|[\r\n\t]/.test(firstName) || firstName.includes(MARK))) return undefined;
  if (view.profileId.includes(MARK) || view.message.id.includes(MARK)) return undefined;
  const url = (u: string) => (token && u.endsWith(token) ? u.slice(0, u.length - token.length) + MARKERS.token : u);
  const cohortView: View = {
    ...view,
    firstName: firstName === undefined ? undefined : MARKERS.firstName,
    profileId: MARKERS.profileId,
    message: { ...view.message, id: MARKERS.messageId },
    amp: { offers: url(view.amp.offers), cart: url(view.amp.cart), checkout: url(view.amp.checkout), survey: url(view.amp.survey) },
  };
  // Brand and strings are fixed by the template hash and the locale; warnings are output.
  const { brand: _brand, strings: _strings, fallbackStrings: _fallback, warnings: _warnings, products, hero, ...keyed } = cohortView;
  // Product views are immutable and memoised (build-view.ts), so their identity stands for their
  // content in the key: a serial instead of ~30 fields each keeps the JSON small.
  const json = JSON.stringify([keyed, products.map(serialOf), hero && serialOf(hero)]);
  const expectedMarks = (firstName === undefined ? 0 : 1) + 2 + (token ? 4 : 0);
  if (countMarks(json) !== expectedMarks) return undefined;
  const raw: MarkerValues = { n: firstName ?? '', p: view.profileId, m: view.message.id, t: token };
  const esc = Handlebars.Utils.escapeExpression;
  return {
    key: `${compiled.hash}\u0000${json}`,
    view: cohortView,
    raw,
    escaped: { n: esc(raw.n), p: esc(raw.p), m: esc(raw.m), t: esc(raw.t) },
  };
}

const serials = new WeakMap<object, number>();
let nextSerial = 0;

function serialOf(product: object): number {
  let n = serials.get(product);
  if (n === undefined) {
    n = ++nextSerial;
    serials.set(product, n);
  }
  return n;
}

/** Header-safe: a subject is one line however the data is shaped. */
function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/** Collapses the blank lines that block helpers leave behind in text templates. */
function tidyText(s: string): string {
  return `${s.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

function htmlToText(html: string): string {
  return tidyText(convert(html, { wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] }));
}

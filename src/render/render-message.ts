import { randomUUID } from 'node:crypto';
import { convert } from 'html-to-text';
import type { AmpMessageContent, AmpTokenRequest } from '../commerce/amp-claims.ts';
import type { SegmentThresholds } from '../personalize/segment-thresholds.ts';
import { assignVariant } from '../personalize/assign-variant.ts';
import type { SegmentName } from '../personalize/segments.ts';
import type { CompiledTemplate } from '../templates/compile-template.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import type { Channel } from '../templates/template-manifest.ts';
import { planWhatsApp, renderWhatsApp, type WhatsAppRender } from '../channels/whatsapp/render-whatsapp.ts';
import Handlebars from 'handlebars';
import { CohortCache, cohortKey, fillMarkers, inertValue, MARK, recordFill, splitAtMarkers, type MarkerValues } from './cohort-cache.ts';
import { buildViewBase, channelView, listHasMarks, TemplateDataError, type CatalogEntry, type RenderView, type ViewBase, type ViewDeps } from './build-view.ts';
import type { RenderRequest } from './render-input.ts';
import { renderPart, type FragmentCache, type FragmentScope } from './fragment-cache.ts';
import { oneLine, tidyText } from './tidy-text.ts';
import { unsubscribeUrl, type UnsubscribeRequest } from '../commerce/unsubscribe-token.ts';

export interface EmailParts {
  subject: string;
  preheader: string;
  amp?: string;
  html: string;
  text: string;
  /**
   * Headers a sender must add (marketing email): the recipient's one-click unsubscribe
   * (`List-Unsubscribe` with `List-Unsubscribe-Post`, RFC 8058), which Gmail and Yahoo require
   * of bulk senders.
   */
  headers?: UnsubscribeHeaders;
}

export interface UnsubscribeHeaders {
  'List-Unsubscribe': string;
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click';
}

/** A marketing email the customer unsubscribed from: nothing to send. */
export interface EmailSuppressed {
  suppressed: true;
  reason: 'unsubscribed';
}

export type EmailRender = EmailParts | EmailSuppressed;

/**
 * A render as the service answers it: the email part of a marketing template is `suppressed`
 * for a customer who unsubscribed (render-service.ts applies the consent store).
 */
export type ServiceRenderResult = Omit<RenderResult, 'email'> & { email?: EmailRender };

/** The email parts of a result, or undefined when it has none to send (no email part, or suppressed). */
export function emailParts(result: Pick<ServiceRenderResult, 'email'>): EmailParts | undefined {
  const email = result.email;
  return email === undefined || 'suppressed' in email ? undefined : email;
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
  /** Catalog products with the reference prices the store derived from their price history. */
  catalog: (sku: string) => CatalogEntry | undefined;
  publicBaseUrl: string;
  /** Signs the AMP access token for one message: who, which message, and what it shows. */
  signAmpToken: (who: Pick<AmpTokenRequest, 'sub' | 'msg' | 'cmp' | 'tpl' | 'cartAt'>, content?: AmpMessageContent) => string;
  signPayload: (data: string) => string;
  /**
   * Signs a recipient's unsubscribe token, its lifetime counted from the render's clock (so the
   * same message id and clock give the same email); without it the footer links to the brand's page.
   */
  signUnsubscribeToken?: (who: UnsubscribeRequest, issuedAt: Date) => string;
  contentSid?: (key: string) => string | undefined;
  /** Customers who sent STOP on WhatsApp (from the consent store). */
  whatsappOptedOut?: (customerId: string) => boolean;
  now?: () => Date;
  newId?: () => string;
  /** Shares email renders between recipients whose views differ only in name, ids and token. */
  cohorts?: CohortCache;
  /** Shares rendered product cards between recipients (fragment-cache.ts). */
  fragments?: FragmentCache;
}

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

  // Signed at most once per message (a cohort render that falls back to a full one asks twice).
  let signed: string | undefined;
  const ampToken = (content: AmpMessageContent) =>
    (signed ??= deps.signAmpToken({ sub: request.profile.id, msg: messageId, cmp: request.context.campaignId, tpl: manifest.name, cartAt: Math.floor(now.getTime() / 1000) }, content));
  let unsubscribe: string | undefined;
  const signUnsubscribe = deps.signUnsubscribeToken;
  const unsubscribeToken = signUnsubscribe
    ? (loc: string) => (unsubscribe ??= signUnsubscribe({ sub: request.profile.id, cmp: request.context.campaignId, loc }, now))
    : undefined;  const viewDeps: ViewDeps = {
    brand: deps.templates.shared.brand,
    locales: deps.templates.shared.locales,
    thresholds: deps.thresholds,
    catalog: deps.catalog,
    now,
    publicBaseUrl: deps.publicBaseUrl,
    ampToken,
    signPayload: deps.signPayload,
    unsubscribeToken,
  };

  if (channels.includes('email') && compiled.ampSource && !deps.publicBaseUrl.startsWith('https://')) {
    warnings.push(`AMP endpoints use ${deps.publicBaseUrl}; mail clients only call https endpoints, so set PUBLIC_BASE_URL to the public https address`);
  }
  const result: RenderResult = { id: messageId, template: manifest.name, variant, locale: '', segments: [], warnings };
  const whatsapp = channels.includes('whatsapp') ? compiled.whatsapp : undefined;
  if (channels.includes('email') || whatsapp) {
    // One base per message: locale, segments, offer and products are the same on every channel.
    // It also checks the request against what the template needs, even when nothing is sent.
    const base = buildViewBase(
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
      },
      viewDeps,
      warnings,
    );
    result.locale = base.locale;
    result.segments = base.segmentList;
    if (channels.includes('email')) {
      const email = renderEmail(compiled, base, viewDeps, variant, deps.cohorts, deps.fragments);
      if (manifest.category === 'marketing' && unsubscribe !== undefined) {
        email.headers = { 'List-Unsubscribe': `<${unsubscribeUrl(deps.publicBaseUrl, unsubscribe)}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
      }
      result.email = email;
    }
    if (whatsapp) {
      const waDeps = { now, contentSid: deps.contentSid ?? (() => undefined), optedOut: deps.whatsappOptedOut?.(request.profile.id) ?? false };
      const plan = planWhatsApp(manifest.category, request.profile, waDeps);
      if (plan.suppressed) result.whatsapp = plan;
      else {
        const payloads = plan.kind === 'session' ? whatsapp.needs.session : whatsapp.needs.approved;
        const { view } = channelView(base, { channel: 'whatsapp', payloads }, viewDeps);
        result.whatsapp = renderWhatsApp(manifest.name, manifest.category, whatsapp, view, request.profile, view.locale, waDeps);
      }
    }
  }
  // Helpers and views may report the same thing per product or per part; say it once.
  result.warnings = [...new Set(warnings)];
  return result;
}

function renderEmail(
  compiled: CompiledTemplate,
  base: ViewBase,
  viewDeps: ViewDeps,
  variant: string | undefined,
  cohorts: CohortCache | undefined,
  fragments: FragmentCache | undefined,
): EmailParts {
  const partsLocale = compiled.email.has(base.locale) ? base.locale : 'en';
  const parts = compiled.email.get(partsLocale)!;
  for (const w of parts.warnings) base.warnings.push(w);
  const v = variant ? parts.variants.get(variant) : undefined;
  const subjectFn = v?.subject ?? parts.subject;
  const preheaderFn = v?.preheader ?? parts.preheader;

  // A derived text part is wrapped by width, which a marker would change: render those in full.
  const tries = cohorts !== undefined && parts.text !== undefined && cohorts.gate.tries();
  if (cohorts && parts.text && !tries) cohorts.stats.skipped++;
  const cohort = cohorts && tries ? cohortOf(compiled, base, viewDeps) : undefined;
  if (cohorts && tries && !cohort) cohorts.stats.bypassed++;
  // A miss the gate does not keep renders in full, as without the cache (hit-rate-gate.ts).
  let entry = cohorts && cohort ? cohorts.get(cohort.key) : undefined;
  if (cohorts && cohort && (entry || cohorts.gate.admit(cohort.key))) {
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
        tidyText: splitAtMarkers(tidyText(text)),
        warnings: helperWarnings,
      };
      cohorts.set(cohort.key, entry);
    }
    for (const w of entry.warnings) base.warnings.push(w);
    const escaped = cohort.escaped;
    // Subject and preheader were one-lined at the cohort render; with inert values that holds.
    const email: EmailParts = {
      subject: cohort.inert ? fillMarkers(entry.subject, cohort.raw) : oneLine(fillMarkers(entry.subject, cohort.raw)),
      preheader: cohort.inert ? fillMarkers(entry.preheader, cohort.raw) : oneLine(fillMarkers(entry.preheader, cohort.raw)),
      amp: entry.amp ? fillMarkers(entry.amp, escaped) : undefined,
      html: fillMarkers(entry.html, escaped),
      text: cohort.inert ? fillMarkers(entry.tidyText, cohort.raw) : tidyText(fillMarkers(entry.text, cohort.raw)),
    };
    recordFill(email, { amp: entry.amp, html: entry.html, text: cohort.inert ? entry.tidyText : undefined, escaped, raw: cohort.raw });
    return email;
  }

  const { view } = channelView(base, { channel: 'email' }, viewDeps);
  const subject = oneLine(subjectFn(view));
  const preheader = oneLine(preheaderFn(view));
  // The layout shows the preheader as hidden preview text, so it joins the view before the HTML pass.
  const withHeader = { ...view, subject, preheader };
  const scope: FragmentScope | undefined = fragments && { cache: fragments, templateHash: compiled.hash, locale: partsLocale };
  const html = renderPart('html', parts.html!, parts.cards.html, withHeader, scope);
  return {
    subject,
    preheader,
    amp: parts.amp && renderPart('amp', parts.amp, parts.cards.amp, withHeader, scope),
    html,
    text: parts.text ? tidyText(renderPart('text', parts.text, parts.cards.text, withHeader, scope)) : htmlToText(html),
  };
}

/**
 * The cohort a recipient's email belongs to (see cohort-cache.ts): the view with the
 * per-recipient values as markers, and those values for filling in. Undefined when this view
 * cannot be shared safely: a value that a part would transform differently in place (runs of
 * white space collapse in the subject) or data that already contains the marker character.
 */
function cohortOf(
  compiled: CompiledTemplate,
  base: ViewBase,
  viewDeps: ViewDeps,
): { key: string; view: RenderView; raw: MarkerValues; escaped: MarkerValues; inert: boolean } | undefined {
  const profile = base.input.profile;
  const firstName = profile.firstName?.trim() || undefined;
  if (firstName !== undefined && (/\s\s|[\r\n\t]/.test(firstName) || firstName.includes(MARK))) return undefined;
  if (profile.id.includes(MARK) || base.input.messageId.includes(MARK)) return undefined;
  const { view, token, unsubscribe } = channelView(base, { channel: 'email', markers: true }, viewDeps);
  if (listHasMarks(view.products)) return undefined;
  // The AMP URLs with the token marker are interned (no data in them), so the key shows name and ids.
  const key = cohortKey(compiled.hash, view, (firstName === undefined ? 0 : 1) + 2);
  if (key === undefined) return undefined;
  const raw: MarkerValues = { n: firstName ?? '', p: profile.id, m: base.input.messageId, t: token, u: unsubscribe };
  const esc = Handlebars.Utils.escapeExpression;
  // An absent name or token has no marker, so its empty value is never filled in.
  const inert =
    (raw.n === '' || inertValue(raw.n)) && inertValue(raw.p) && inertValue(raw.m) && (raw.t === '' || inertValue(raw.t)) && (raw.u === '' || inertValue(raw.u));
  return { key, view, raw, escaped: { n: esc(raw.n), p: esc(raw.p), m: esc(raw.m), t: esc(raw.t), u: esc(raw.u) }, inert };
}

function htmlToText(html: string): string {
  return tidyText(convert(html, { wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] }));
}

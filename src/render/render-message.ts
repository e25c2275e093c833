import { randomUUID } from 'node:crypto';
import { convert } from 'html-to-text';
import type { Product } from '../personalize/recommendations-schema.ts';
import type { SegmentThresholds } from '../personalize/segment-thresholds.ts';
import { assignVariant } from '../personalize/assign-variant.ts';
import type { SegmentName } from '../personalize/segments.ts';
import type { CompiledTemplate } from '../templates/compile-template.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import type { Channel } from '../templates/template-manifest.ts';
import { renderWhatsApp, type WhatsAppRender } from '../channels/whatsapp/render-whatsapp.ts';
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
  /** Signs the AMP access token for one message (customer, campaign, message, template). */
  signAmpToken: (claims: { sub: string; msg: string; cmp?: string; tpl: string }) => string;
  signPayload: (data: string) => string;
  contentSid?: (key: string) => string | undefined;
  /** Customers who sent STOP on WhatsApp (from the consent store). */
  whatsappOptedOut?: (customerId: string) => boolean;
  now?: () => Date;
  newId?: () => string;
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

  const ampToken = deps.signAmpToken({ sub: request.profile.id, msg: messageId, cmp: request.context.campaignId, tpl: manifest.name });
  const viewFor = (channel: 'email' | 'whatsapp') =>
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
    result.email = renderEmail(compiled, view, variant);
  }
  if (channels.includes('whatsapp') && compiled.whatsapp) {
    const view = viewFor('whatsapp');
    result.locale = view.locale;
    result.segments = view.segmentList;
    result.whatsapp = renderWhatsApp(manifest.name, manifest.category, compiled.whatsapp, view, request.profile, view.locale, {
      now,
      contentSid: deps.contentSid ?? (() => undefined),
      optedOut: deps.whatsappOptedOut?.(request.profile.id) ?? false,
    });
  }
  // Helpers and views may report the same thing per product or per part; say it once.
  result.warnings = [...new Set(warnings)];
  return result;
}

type View = ReturnType<typeof buildView>;

function renderEmail(compiled: CompiledTemplate, view: View, variant: string | undefined): EmailParts {
  const parts = compiled.email.get(view.locale) ?? compiled.email.get('en')!;
  for (const w of parts.warnings) view.warnings.push(w);
  const v = variant ? parts.variants.get(variant) : undefined;
  const subject = oneLine((v?.subject ?? parts.subject)(view));
  const preheader = oneLine((v?.preheader ?? parts.preheader)(view));
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

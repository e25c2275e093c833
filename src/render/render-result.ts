import type { AmpMessageContent, AmpTokenRequest } from '../commerce/amp-claims.ts';
import type { FragmentCache } from './fragment-cache.ts';
import type { ClickLink } from '../commerce/click-token.ts';
import type { UnsubscribeRequest } from '../commerce/unsubscribe-token.ts';
import type { SegmentThresholds } from '../personalize/segment-thresholds.ts';
import type { SegmentName } from '../personalize/segments.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import type { WhatsAppRender } from './whatsapp/render-whatsapp.ts';
import type { CohortCache, MarkerValues, SharedPart } from './cohort-cache.ts';
import { TemplateDataError, type CatalogEntry } from './build-view.ts';

/**
 * The email of one render. Frozen: the service sends what the render made, so a caller that
 * wants to change a part (a tracking pixel) builds a new result instead of editing this one
 * (assigning to a field throws a TypeError; TypeScript refuses it first).
 */
export interface EmailParts {
  readonly subject: string;
  readonly preheader: string;
  readonly amp?: string;
  readonly html: string;
  readonly text: string;
  /**
   * Headers a sender must add (marketing email): the recipient's one-click unsubscribe
   * (`List-Unsubscribe` with `List-Unsubscribe-Post`, RFC 8058), which Gmail and Yahoo require
   * of bulk senders.
   */
  readonly headers?: UnsubscribeHeaders;
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
 * How a cohort email's big parts were filled in: the cohort's shared split parts and this
 * recipient's values. Encoding (encode-result.ts) sends the shared segments as bytes encoded
 * once per cohort instead of serialising ~100 KB per recipient. A part is absent when it was
 * not a plain fill (the text part when a value was not inert).
 */
export interface EmailFill {
  amp?: SharedPart;
  html: SharedPart;
  text?: SharedPart;
  escaped: MarkerValues;
  raw: MarkerValues;
}

/**
 * The email of a cohort render: the parts as strings, like any email, and how they were filled
 * in (`fill`). The fill is a getter, so it is not in the JSON and a copy (`{ ...email }`) is a
 * plain email: only this frozen object, whose strings cannot change, carries it.
 */
export class CohortEmail implements EmailParts {
  readonly subject: string;
  readonly preheader: string;
  readonly amp?: string;
  readonly html: string;
  readonly text: string;
  readonly headers?: UnsubscribeHeaders;
  readonly #fill: EmailFill;

  constructor(parts: EmailParts, fill: EmailFill) {
    // Field by field, in the order a full render's object has them: JSON keeps that order.
    this.subject = parts.subject;
    this.preheader = parts.preheader;
    this.amp = parts.amp;
    this.html = parts.html;
    this.text = parts.text;
    if (parts.headers !== undefined) this.headers = parts.headers;
    this.#fill = fill;
    Object.freeze(this);
  }

  get fill(): EmailFill {
    return this.#fill;
  }
}

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

/** The render's output: what every caller gets and what the HTTP JSON is made of. */
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
  /**
   * Signs the AMP access token for one message: who, which message, and what it shows
   * (`contentJson`: the content's claims as amp-claims.ts `contentClaimsJson` writes them, when
   * the caller has them already).
   */
  signAmpToken: (who: Pick<AmpTokenRequest, 'sub' | 'msg' | 'cmp' | 'var' | 'tpl' | 'cartAt'>, content?: AmpMessageContent, contentJson?: string) => string;
  signPayload: (data: string) => string;
  /**
   * Signs a recipient's unsubscribe token, its lifetime counted from the render's clock (so the
   * same message id and clock give the same email); without it the footer links to the brand's page.
   */
  signUnsubscribeToken?: (who: UnsubscribeRequest, issuedAt: Date) => string;
  /**
   * The tracked URL (`/c/<token>`) of one product link, its lifetime counted from the render's
   * clock. Used only when the request names its campaign and message: other renders keep their
   * direct links.
   */
  trackedLink?: (link: ClickLink, issuedAt: Date) => string;
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

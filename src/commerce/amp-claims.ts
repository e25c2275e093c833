import { z } from 'zod';

/**
 * What one rendered message showed, bound into its AMP access token at render time so the
 * endpoints the email calls can answer for exactly that message: the products in display
 * order, the offer the customer was promised, the market it was priced for, and the cart it
 * displayed. The token is the only thing a mail client sends back (no cookies: Gmail proxies
 * and strips them), so anything the endpoints must trust travels here, signed.
 */
export interface AmpMessageContent {
  /** SKUs of the products the message shows, in display order. */
  skus: string[];
  /** The campaign discount the message shows for those products (withheld for VIPs at render). */
  percentOff?: number;
  /** ISO date-time after which the discount no longer applies. */
  offerExpiresAt?: string;
  currency: string;
  /** BCP 47 locale the message was written in; server messages answer in it. */
  locale: string;
  /** The cart lines the message displayed (abandoned-cart); seeds a customer's first store cart. */
  cart?: { sku: string; size?: string; quantity: number }[];
}

/** What the render core asks to be signed for one message. */
export interface AmpTokenRequest extends Partial<AmpMessageContent> {
  sub: string;
  msg: string;
  cmp?: string;
  /** The A/B variant, with a campaign: opens and clicks are counted per variant. */
  var?: string;
  tpl: string;
  /** The render's clock, epoch seconds: when the message showed its `cart` (signed only with one). */
  cartAt?: number;
}

// Every AMP URL of a message repeats the token (one per form), so claim names are short.
// Beyond these limits a claim is left out rather than growing every URL of the email.
const MAX_SKUS = 20;
const MAX_CART_LINES = 20;

export const ampClaimsSchema = z.object({
  /** Customer id. */
  sub: z.string().min(1).max(128),
  /** Message id. */
  msg: z.string().min(1).max(128),
  /** Campaign id. */
  cmp: z.string().max(128).optional(),
  /** A/B variant (with a campaign). */
  var: z.string().max(32).optional(),
  /** Template name. */
  tpl: z.string().min(1).max(64),
  skus: z.array(z.string().min(1).max(128)).max(MAX_SKUS).default([]),
  /** Percent off for `skus`. */
  off: z.number().min(1).max(90).optional(),
  /** Offer expiry, seconds since the epoch. */
  offx: z.number().int().optional(),
  cur: z.string().regex(/^[A-Z]{3}$/).optional(),
  loc: z.string().min(2).max(35).optional(),
  /** Cart lines as [sku, size, quantity]; size '' when the message did not know it. */
  cart: z
    .array(z.tuple([z.string().min(1).max(128), z.string().max(32), z.number().int().min(1).max(99)]))
    .max(MAX_CART_LINES)
    .optional(),
  /**
   * When the message showed `cart` (epoch seconds, rounded down): a store cart changed after it
   * wins over it (message-cart.ts). Absent in tokens signed before it was recorded.
   */
  cat: z.number().int().optional(),
  exp: z.number().int(),
});

export type AmpClaims = z.infer<typeof ampClaimsSchema>;

/**
 * The compact claims for a message, without `exp` (the signer adds it).
 *
 * @example
 * compactAmpClaims({ sub: 'cust-sophie', msg: 'm-1', tpl: 'price-drop', skus: ['NL-TOP-002'], percentOff: 15, currency: 'EUR', locale: 'en' })
 * // { sub: 'cust-sophie', msg: 'm-1', tpl: 'price-drop', skus: ['NL-TOP-002'], off: 15, cur: 'EUR', loc: 'en' }
 */
export function compactAmpClaims(r: AmpTokenRequest): Omit<AmpClaims, 'exp' | 'skus'> & { skus?: string[] } {
  // Field by field, in the claim order above: a conditional spread costs an object each, and
  // this runs for every recipient.
  const out: Omit<AmpClaims, 'exp' | 'skus'> & { skus?: string[] } =
    r.cmp === undefined ? { sub: r.sub, msg: r.msg, tpl: r.tpl } : r.var === undefined ? { sub: r.sub, msg: r.msg, cmp: r.cmp, tpl: r.tpl } : { sub: r.sub, msg: r.msg, cmp: r.cmp, var: r.var, tpl: r.tpl };
  if (r.skus?.length) out.skus = r.skus.length > MAX_SKUS ? r.skus.slice(0, MAX_SKUS) : r.skus;
  if (r.percentOff) out.off = r.percentOff;
  const expiresAt = r.offerExpiresAt === undefined ? undefined : Date.parse(r.offerExpiresAt);
  if (expiresAt !== undefined && Number.isFinite(expiresAt)) out.offx = Math.floor(expiresAt / 1000);
  if (r.currency) out.cur = r.currency;
  if (r.locale) out.loc = r.locale;
  if (r.cart && carriesCart(r)) {
    out.cart = r.cart.map((l): [string, string, number] => [l.sku, l.size ?? '', l.quantity]);
    if (r.cartAt !== undefined) out.cat = r.cartAt;
  }
  return out;
}

/**
 * `JSON.stringify({ ...compactAmpClaims({ ...who, ...content }), exp })`, written from parts.
 * The content claims are the same for every recipient shown the same products, offer, market
 * and cart: a caller that shares content objects between them (build-view.ts) passes their
 * JSON (`contentClaimsJson`) made once; per recipient only the ids, the cart's time and `exp`
 * are serialised.
 */
export function ampClaimsJson(
  who: Pick<AmpTokenRequest, 'sub' | 'msg' | 'cmp' | 'var' | 'tpl' | 'cartAt'>,
  content: AmpMessageContent | undefined,
  exp: number,
  contentJson: string = content ? contentClaimsJson(content) : '',
): string {
  // A variant is signed only with its campaign (compactAmpClaims): renders without one keep their tokens.
  const campaign = who.cmp === undefined ? '' : `,"cmp":${JSON.stringify(who.cmp)}${who.var === undefined ? '' : `,"var":${JSON.stringify(who.var)}`}`;
  const head = `{"sub":${JSON.stringify(who.sub)},"msg":${JSON.stringify(who.msg)}${campaign},"tpl":${JSON.stringify(who.tpl)}`;
  // The time is the recipient's own, so it is written here rather than with the shared content.
  const cartAt = who.cartAt !== undefined && content && carriesCart(content) ? `,"cat":${JSON.stringify(who.cartAt)}` : '';
  return `${head}${contentJson}${cartAt},"exp":${JSON.stringify(exp)}}`;
}

function carriesCart(r: Pick<AmpTokenRequest, 'cart'>): boolean {
  return r.cart !== undefined && r.cart.length > 0 && r.cart.length <= MAX_CART_LINES;
}

/** `,"skus":[…],"off":…` — the content claims in claim order, each after a comma. */
export function contentClaimsJson(content: AmpMessageContent): string {
  // The placeholders fix where the content claims start and stop inside the whole JSON.
  const whole = JSON.stringify(compactAmpClaims({ sub: '', msg: '', tpl: '', ...content }));
  return whole.slice('{"sub":"","msg":"","tpl":""'.length, -1);
}

/** The discount a token grants, if it still applies at `now`. */
export interface MessageOffer {
  percentOff: number;
  skus: ReadonlySet<string>;
}

export function messageOffer(claims: Pick<AmpClaims, 'off' | 'offx' | 'skus'>, now: Date): MessageOffer | undefined {
  if (!claims.off) return undefined;
  if (claims.offx !== undefined && claims.offx * 1000 <= now.getTime()) return undefined;
  return { percentOff: claims.off, skus: new Set(claims.skus) };
}

import { z } from 'zod';
import { signToken, verifyToken, type SigningKey } from './signed-token.ts';

/**
 * A tracked product link, `/c/<token>`: the signed token names the campaign, message, variant,
 * customer, product and destination, so a click is counted for the message that carried it and
 * the redirect goes only where the render pointed (the token cannot be edited to point
 * elsewhere). Short claim names: the token is in every product link of the email.
 */
export const clickClaimsSchema = z.object({
  /** Campaign id. */
  c: z.string().min(1).max(128),
  /** Message id. */
  m: z.string().min(1).max(128),
  /** A/B variant. */
  v: z.string().max(32).optional(),
  /** Customer id. */
  s: z.string().min(1).max(128),
  /** Product SKU. */
  k: z.string().min(1).max(128),
  /** Destination URL as rendered (the product page with its utm_* parameters). */
  u: z.string().min(1).max(2048),
  exp: z.number().int(),
});

export type ClickClaims = z.infer<typeof clickClaimsSchema>;

export interface ClickLink {
  campaignId: string;
  messageId: string;
  variant?: string;
  customerId: string;
  sku: string;
  url: string;
}

/** Links stay in inboxes for long; a year covers the campaigns anyone still reports on. */
export const CLICK_TTL_SECONDS = 365 * 86_400;

/** Signs a click token expiring CLICK_TTL_SECONDS after `issuedAt` (the render's clock, so a render is reproducible). */
export function signClickToken(link: ClickLink, issuedAt: Date, keys: readonly SigningKey[]): string {
  const claims: ClickClaims = {
    c: link.campaignId,
    m: link.messageId,
    ...(link.variant === undefined ? {} : { v: link.variant }),
    s: link.customerId,
    k: link.sku,
    u: link.url,
    exp: Math.floor(issuedAt.getTime() / 1000) + CLICK_TTL_SECONDS,
  };
  return signToken(claims, keys);
}

export type ClickVerdict = { ok: true; link: ClickLink } | { ok: false; reason: 'invalid' | 'expired' };

export function verifyClickToken(token: string, keys: readonly SigningKey[], now: Date): ClickVerdict {
  const verified = verifyToken<ClickClaims>(token, keys, now);
  if (!verified.ok) return { ok: false, reason: verified.reason === 'expired' ? 'expired' : 'invalid' };
  const claims = clickClaimsSchema.safeParse(verified.claims);
  if (!claims.success) return { ok: false, reason: 'invalid' };
  const c = claims.data;
  return { ok: true, link: { campaignId: c.c, messageId: c.m, ...(c.v === undefined ? {} : { variant: c.v }), customerId: c.s, sku: c.k, url: c.u } };
}

/** The tracked URL of a link: `<PUBLIC_BASE_URL>/c/<token>`. */
export function clickUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl}/c/${token}`;
}

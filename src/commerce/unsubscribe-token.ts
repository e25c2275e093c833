import { z } from 'zod';
import { signToken, verifyToken, type SigningKey } from './signed-token.ts';

/**
 * The signed token of a per-recipient unsubscribe link (`/u/<token>`, RFC 8058). It names the
 * customer and the list, so one click unsubscribes exactly that recipient with no login. `typ`
 * keeps it apart from AMP access tokens (signed with the same keys): neither is accepted as the
 * other, and it carries no message or template, which AMP tokens require.
 */
export const unsubscribeClaimsSchema = z.object({
  typ: z.literal('unsub'),
  /** Customer id. */
  sub: z.string().min(1).max(128),
  /** The mailing list: marketing email is the one list inboxcart sends. */
  list: z.literal('marketing'),
  /** Campaign id, kept with the opt-out for the campaign system's reports. */
  cmp: z.string().max(128).optional(),
  /** The email's language: the confirmation page answers in it. */
  loc: z.string().min(2).max(35).optional(),
  exp: z.number().int(),
});

export type UnsubscribeClaims = z.infer<typeof unsubscribeClaimsSchema>;

export interface UnsubscribeRequest {
  sub: string;
  cmp?: string;
  loc?: string;
}

export function signUnsubscribeToken(r: UnsubscribeRequest, expiresAt: Date, keys: readonly SigningKey[]): string {
  const claims: UnsubscribeClaims = { typ: 'unsub', sub: r.sub, list: 'marketing', exp: Math.floor(expiresAt.getTime() / 1000) };
  if (r.cmp !== undefined) claims.cmp = r.cmp;
  if (r.loc !== undefined) claims.loc = r.loc;
  return signToken(claims, keys);
}

export type UnsubscribeVerdict =
  | { ok: true; claims: UnsubscribeClaims }
  | { ok: false; reason: 'invalid' }
  /** Authentic but past its expiry: the language is still known for the page. */
  | { ok: false; reason: 'expired'; loc?: string };

export function verifyUnsubscribeToken(token: string, keys: readonly SigningKey[], now: Date): UnsubscribeVerdict {
  const verified = verifyToken<UnsubscribeClaims>(token, keys, now);
  if (!verified.ok && verified.reason === 'expired') {
    // verifyToken reports `expired` only once the signature checked out: the payload is ours.
    const loc = readLocale(token);
    return { ok: false, reason: 'expired', ...(loc ? { loc } : {}) };
  }
  if (!verified.ok) return { ok: false, reason: 'invalid' };
  const claims = unsubscribeClaimsSchema.safeParse(verified.claims);
  return claims.success ? { ok: true, claims: claims.data } : { ok: false, reason: 'invalid' };
}

function readLocale(token: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { loc?: unknown; typ?: unknown };
    return claims.typ === 'unsub' && typeof claims.loc === 'string' ? claims.loc : undefined;
  } catch {
    return undefined;
  }
}

/** The link in List-Unsubscribe, the footer and the text part. */
export function unsubscribeUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl}/u/${token}`;
}

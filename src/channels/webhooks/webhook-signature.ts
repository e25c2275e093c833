import { createHmac } from 'node:crypto';

/** The header every webhook delivery carries (shared/DESIGN.md, "The loop with the shop"). */
export const SIGNATURE_HEADER = 'Inboxcart-Signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the shared secret, the scheme
 * Stripe uses: the timestamp is signed with the body, so a receiver that rejects an old `t`
 * cannot be fed a recorded delivery again (README, "Webhooks", shows the check). Each attempt
 * is signed when it is sent.
 *
 * @example
 * webhookSignature('whsec_…', '{"id":"evt_…",…}', new Date('2026-11-22T10:00:00Z'))
 * // 't=1795341600,v1=5b1f…'
 */
export function webhookSignature(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SigningKey } from './signed-token.ts';

// Domain separation: a MAC made for a payment link can never pass as any other signed value.
const PURPOSE = 'inboxcart-pay-v1';

function tag(secret: string, orderId: string): Buffer {
  return createHmac('sha256', secret).update(`${PURPOSE}\u0000${orderId}`).digest().subarray(0, 16);
}

/**
 * The hosted payment page for an order that still has to be paid: `<base>/pay/<orderId>?sig=…`.
 * The signature (key id and a 128-bit tag) lets the payment page trust the order id without
 * a session, and keeps order ids from being enumerated. Signed with the first key; any
 * configured key verifies, so rotation does not break links already sent.
 *
 * @example
 * paymentLink('https://mail.nordlys.example', order.id, config.tokenKeys)
 * // https://mail.nordlys.example/pay/4f1c…?sig=k1.Zx3…
 */
export function paymentLink(publicBaseUrl: string, orderId: string, keys: readonly SigningKey[]): string {
  const key = keys[0];
  if (!key) throw new Error('No signing key configured: set TOKEN_SECRETS.');
  const base = publicBaseUrl.replace(/\/+$/, '');
  return `${base}/pay/${encodeURIComponent(orderId)}?sig=${encodeURIComponent(`${key.id}.${tag(key.secret, orderId).toString('base64url')}`)}`;
}

/** True when `sig` (the query parameter of a payment link) was made for `orderId` by a configured key. */
export function verifyPaymentSignature(orderId: string, sig: string, keys: readonly SigningKey[]): boolean {
  const dot = sig.lastIndexOf('.');
  if (dot <= 0) return false;
  const key = keys.find((k) => k.id === sig.slice(0, dot));
  if (!key) return false;
  const given = Buffer.from(sig.slice(dot + 1), 'base64url');
  const expected = tag(key.secret, orderId);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

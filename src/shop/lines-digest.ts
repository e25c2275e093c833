import { createHash } from 'node:crypto';
import type { RequestedLine } from './price-order.ts';

/**
 * What a set of order lines is, in 16 characters (96 bits), whatever their order: the chat's
 * confirm step remembers it to notice a cart that changed before "yes", the order's
 * idempotency key includes it, and an abandoned-cart button whose lines do not fit in it
 * carries it instead of them (message-payloads.ts).
 *
 * @example
 * linesDigest([{ sku: 'NL-TOP-001', size: 'M', quantity: 1 }]) === linesDigest([{ quantity: 1, size: 'M', sku: 'NL-TOP-001' }]) // true
 */
export function linesDigest(lines: readonly RequestedLine[]): string {
  const sorted = [...lines].map((l) => [l.sku, l.size, l.quantity]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url').slice(0, 16);
}

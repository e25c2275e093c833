import { createHash } from 'node:crypto';
import { linesDigest } from '../../shop/lines-digest.ts';
import { payloadField } from './payload-field.ts';
import { WHATSAPP_LIMITS } from '../../templates/whatsapp-limits.ts';

/**
 * The signed ids of a rendered template's buttons and list rows (conversation-payloads.ts
 * parses them):
 *
 * - `buy@OWNER:SKU:SIZE:MSG!offer`, `pick@OWNER:SKU:MSG!offer`, `picks@OWNER:MSG!offer|SKU|…`
 * - `cart@OWNER:MSG|AT|SKU:SIZE:QTY|…` — the cart the message showed and when (epoch seconds);
 *   `cart@OWNER:MSG|AT|#DIGEST` when its lines do not fit; `cart@OWNER:MSG` for a message that
 *   showed no cart
 * - `later@OWNER:MSG`, `stop@OWNER:MSG`
 *
 * OWNER binds a payload to the customer it was rendered for, so a button that reaches another
 * phone (a forwarded message, a copied id) cannot buy for that person with the first one's
 * discount: the chat refuses a tap whose OWNER is not the sender's. It is a digest, not the
 * id itself, because customer ids may be 128 characters and a payload has 200 for everything.
 */

/** 12 base64url characters: 72 bits, so two customers share one about once in 4.7·10²¹ pairs. */
const OWNER_LENGTH = 12;

/** WhatsApp's limit for a button id and a list row id alike. */
const MAX_PAYLOAD = Math.min(WHATSAPP_LIMITS.buttonId, WHATSAPP_LIMITS.listItemId);

/**
 * The OWNER of a customer's payloads. An unkeyed hash is enough: the payload's signature
 * already stops anyone from writing another customer's digest into it.
 *
 * @example
 * payloadOwner('cust-rachel') // 12 characters of [A-Za-z0-9_-]
 */
export function payloadOwner(customerId: string): string {
  return createHash('sha256').update(customerId).digest('base64url').slice(0, OWNER_LENGTH);
}

export interface PayloadContext {
  /** `payloadOwner` of the recipient. */
  owner: string;
  messageId: string;
  /** The offer the message shows, as build-view.ts `offerTag` writes it ('' for none). */
  offer: string;
  sign: (data: string) => string;
  /** Told what a payload left out to stay within WhatsApp's limit. */
  warn: (message: string) => void;
}

/** The cart an abandoned-cart message shows, and when it showed it (the render's clock). */
export interface ShownCart {
  /** Epoch seconds, rounded down: a cart change in the same second counts as later. */
  at: number;
  lines: readonly { sku: string; size?: string; quantity: number }[];
}

/** One way of writing a payload, and what it leaves out compared with the first. */
interface Candidate {
  data: string;
  leftOut?: string;
}

const NO_MESSAGE_ID = 'the message id (orders from it are not attributed to the message)';

/**
 * The signed payload a template reads as `payloads.<key>`: `later`, `stop`, `cart`, `picks`,
 * `buy0`…; undefined for a key that names nothing (a `buyN` past the products).
 */
export function messagePayload(key: string, c: PayloadContext, products: readonly { sku: string; selectedSize?: string }[], cart: ShownCart | undefined): string | undefined {
  const { owner, messageId: msg, offer } = c;
  switch (key) {
    case 'later':
    case 'stop':
      return fit(key, c, [{ data: `${key}@${owner}:${msg}` }, { data: `${key}@${owner}:`, leftOut: NO_MESSAGE_ID }]);
    case 'cart':
      return fit(key, c, cartCandidates(owner, msg, cart));
    case 'picks':
      return picksPayload(c, products);
    default: {
      const buy = /^buy(\d+)$/.exec(key);
      const p = buy ? products[Number(buy[1])] : undefined;
      if (!p) return undefined;
      const head = `buy@${owner}:${payloadField(p.sku)}:`;
      const size = payloadField(p.selectedSize ?? '');
      return fit(key, c, [
        { data: `${head}${size}:${msg}${offer}` },
        { data: `${head}${size}:${offer}`, leftOut: NO_MESSAGE_ID },
        // The chat then asks for the size, the customer's usual one first.
        { data: `${head}:${offer}`, leftOut: `${NO_MESSAGE_ID} and the pre-selected size` },
      ]);
    }
  }
}

/** The payload of one product row of a list (`{{payload}}`). */
export function productPayload(sku: string, c: PayloadContext): string {
  const head = `pick@${c.owner}:${payloadField(sku)}:`;
  return fit(`payload of ${sku}`, c, [{ data: `${head}${c.messageId}${c.offer}` }, { data: `${head}${c.offer}`, leftOut: NO_MESSAGE_ID }]);
}

/**
 * The lines come before the message id: "Check out" must order what the message showed. Lines
 * that do not fit even so are replaced by their digest, and "Check out" then works only while
 * the customer's store cart holds exactly those lines (conversation-engine.ts).
 */
function cartCandidates(owner: string, msg: string, cart: ShownCart | undefined): Candidate[] {
  if (!cart?.lines.length) return [{ data: `cart@${owner}:${msg}` }, { data: `cart@${owner}:`, leftOut: NO_MESSAGE_ID }];
  const lines = cart.lines.map((l) => `${payloadField(l.sku)}:${payloadField(l.size ?? '')}:${l.quantity}`).join('|');
  const digest = linesDigest(cart.lines.map((l) => ({ sku: l.sku, size: l.size ?? '', quantity: l.quantity })));
  const tooMany = `the cart's ${cart.lines.length} lines (their digest instead: "Check out" works while the store cart holds exactly them)`;
  return [
    { data: `cart@${owner}:${msg}|${cart.at}|${lines}` },
    { data: `cart@${owner}:|${cart.at}|${lines}`, leftOut: NO_MESSAGE_ID },
    { data: `cart@${owner}:${msg}|${cart.at}|#${digest}`, leftOut: tooMany },
    { data: `cart@${owner}:|${cart.at}|#${digest}`, leftOut: `${NO_MESSAGE_ID} and ${tooMany}` },
  ];
}

/**
 * "See picks" outside the window must know which products the message offered: as many as fit,
 * in display order (one too long for the space left is skipped, the next may fit). The message
 * id goes first when not all of them fit with it.
 */
function picksPayload(c: PayloadContext, products: readonly { sku: string }[]): string {
  const skus = products.map((p) => `|${payloadField(p.sku)}`);
  const full = `picks@${c.owner}:${c.messageId}${c.offer}${skus.join('')}`;
  const signed = c.sign(full);
  if (signed.length <= MAX_PAYLOAD) return signed;
  const room = MAX_PAYLOAD - (signed.length - full.length);
  let data = `picks@${c.owner}:${c.offer}`;
  let kept = 0;
  for (const sku of skus) {
    if (data.length + sku.length > room) continue;
    data += sku;
    kept++;
  }
  c.warn(`WhatsApp payload 'picks': ${NO_MESSAGE_ID}${kept < skus.length ? ` and ${skus.length - kept} of its ${skus.length} products` : ''} left out to stay within ${MAX_PAYLOAD} characters`);
  return c.sign(data);
}

/**
 * The first candidate that is at most 200 characters once signed. Almost every payload fits
 * as first written, so that is signed first; its signature's length tells how much room the
 * others have. When none fits, the first is returned and render-whatsapp.ts refuses the
 * message, naming the button.
 */
function fit(what: string, c: PayloadContext, candidates: readonly Candidate[]): string {
  const first = candidates[0]!;
  const signed = c.sign(first.data);
  if (signed.length <= MAX_PAYLOAD) return signed;
  const overhead = signed.length - first.data.length;
  const shorter = candidates.find((x) => x.data.length + overhead <= MAX_PAYLOAD);
  if (!shorter) return signed;
  c.warn(`WhatsApp payload '${what}': ${shorter.leftOut} left out to stay within ${MAX_PAYLOAD} characters`);
  return c.sign(shorter.data);
}

/**
 * The signed payloads one WhatsApp message reads (`keys`: a session list eight, a template
 * two), and, when it has product rows or buttons, the products with their own payload each
 * (copies: product views are shared between messages). Each signature costs an HMAC, so only
 * these are signed. The offer the message shows travels in its product payloads, so the chat
 * charges the discounted price the customer was shown (as the AMP checkout does), until it
 * expires; the recipient's digest binds each payload to them.
 */
export function signedPayloads<P extends { sku: string; selectedSize?: string; payload?: string }>(
  needs: { keys: readonly string[]; productPayload: boolean },
  context: PayloadContext,
  products: readonly P[],
  shownCart: ShownCart | undefined,
): { payloads: Record<string, string>; products: readonly P[] } {
  const payloads: Record<string, string> = {};
  for (const key of needs.keys) {
    const payload = messagePayload(key, context, products, shownCart);
    if (payload !== undefined) payloads[key] = payload;
  }
  return { payloads, products: needs.productPayload ? products.map((p) => ({ ...p, payload: productPayload(p.sku, context) })) : products };
}

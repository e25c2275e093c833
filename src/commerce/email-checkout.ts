import { createHash, randomUUID } from 'node:crypto';
import { withCampaignParams, type CampaignParams } from '../render/safe-url.ts';
import { queueOrderConfirmation } from '../channels/whatsapp/confirmation-queue.ts';
import { findPlacedOrder, placeOrder, type Order, type Store } from '../store/index.ts';
import type { Customer } from '../store/customers-repository.ts';
import { messageOffer, type AmpClaims } from './amp-claims.ts';
import { messageCart } from './message-cart.ts';
import { paymentLink } from './payment-link.ts';
import { priceOrder, type RequestedLine } from './price-order.ts';
import type { SigningKey } from './signed-token.ts';

/** What the checkout form asked for: the whole cart, or one product ("buy now"). */
export type CheckoutRequest = { from: 'cart' } | { from: 'item'; sku: string; size: string; quantity: number };

export interface EmailCheckoutDeps {
  store: Store;
  keys: readonly SigningKey[];
  publicBaseUrl: string;
  shopUrl: string;
  now: () => Date;
}

export type CheckoutOutcome =
  /**
   * `confirmationQueued`: a new order's WhatsApp confirmation was queued with it (the customer
   * has a number and consented); the caller sends it once the answer is out.
   */
  | { kind: 'order'; order: Order; created: boolean; confirmationQueued?: boolean }
  /** No delivery address on file: the items wait in the cart and the customer finishes in the shop. */
  | { kind: 'continue_in_shop'; checkoutUrl: string; currency: string; totalMinor: number }
  | { kind: 'refused'; code: 'out_of_stock' | 'unknown_product' | 'unknown_size' | 'empty' | 'mixed_currency' | 'cart_changed'; title?: string; sku?: string; size?: string };

/**
 * How long an empty cart still counts as "the order this email just placed from it". The
 * first submission of a cart checkout empties the cart in the same transaction, so a double
 * click that arrives after it commits finds no lines to derive the key from.
 */
const CART_REPLAY_WINDOW_MS = 10 * 60_000;

/**
 * The idempotency key of a checkout form: customer and message from the token, plus the form
 * content that decides the order (normalised). The same form submitted twice makes one order;
 * another size, product, quantity or cart content makes a new one. The prefix tells cart
 * orders from "buy now" orders for the replay check above.
 */
export function checkoutKey(claims: Pick<AmpClaims, 'sub' | 'msg'>, kind: 'cart' | 'buy', lines: readonly RequestedLine[]): string {
  const normalised = lines
    .map((l) => [l.sku, l.size, l.quantity] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
  const digest = createHash('sha256').update(JSON.stringify(['amp-checkout-v1', claims.sub, claims.msg, normalised])).digest('hex');
  return `amp-${kind}:${digest}`;
}

/**
 * Turns an AMP checkout form into an order: lines from the cart or the form (never prices),
 * priced from the catalog for the customer's market with the discount the message promised,
 * stock taken atomically by placeOrder. With an address and a saved payment method the order
 * is placed; with an address only it awaits payment through a signed hosted payment link.
 * The order and its WhatsApp confirmation are written in one transaction.
 *
 * A form whose key already made an order gets that order back, looked up before the price and
 * stock checks: the order may have taken the last unit (issue: a resubmitted form answered 409
 * `out_of_stock` for an order that exists).
 */
export async function emailCheckout(deps: EmailCheckoutDeps, claims: AmpClaims, request: CheckoutRequest): Promise<CheckoutOutcome> {
  const { store } = deps;
  const customer = await store.customers.get(claims.sub);
  const kind = request.from === 'cart' ? 'cart' : 'buy';
  let lines: RequestedLine[];
  if (request.from === 'cart') {
    lines = (await messageCart(store, claims, { seed: true })).map(({ sku, size, quantity }) => ({ sku, size, quantity }));
    if (lines.length === 0) {
      const replay = await recentCartOrder(store, claims, deps.now());
      return replay ? { kind: 'order', order: replay, created: false } : { kind: 'refused', code: 'empty' };
    }
  } else {
    lines = [{ sku: request.sku, size: request.size, quantity: request.quantity }];
  }
  const idempotencyKey = checkoutKey(claims, kind, lines);
  const placed = await findPlacedOrder(store, idempotencyKey, claims.sub);
  if (placed) return { kind: 'order', order: placed, created: false };

  const products = await store.products.getMany(lines.map((l) => l.sku));
  const currency = customer?.currency ?? claims.cur ?? products[0]?.currency ?? 'EUR';
  const priced = priceOrder(products, lines, currency, messageOffer(claims, deps.now()));
  if (!priced.ok) {
    // The same form's first submission may have committed since the look-up above.
    const late = await findPlacedOrder(store, idempotencyKey, claims.sub);
    if (late) return { kind: 'order', order: late, created: false };
    const title = priced.sku ? products.find((p) => p.sku === priced.sku)?.title : undefined;
    return { kind: 'refused', code: priced.code, ...(title ? { title } : {}), ...(priced.sku ? { sku: priced.sku } : {}), ...(priced.size ? { size: priced.size } : {}) };
  }

  if (!customer?.address) {
    await keepInCart(store, claims.sub, request);
    return { kind: 'continue_in_shop', checkoutUrl: shopCheckoutUrl(deps.shopUrl, claims), currency: priced.currency, totalMinor: priced.totalMinor };
  }

  const id = randomUUID();
  const awaitingPayment = customer.paymentMethod === undefined;
  const address = customer.address;
  const { result, confirmationQueued } = await store.transaction(async (tx) => {
    const result = await placeOrder(tx, {
      id,
      idempotencyKey,
      customerId: claims.sub,
      channel: 'email',
      ...(claims.cmp === undefined ? {} : { campaignId: claims.cmp }),
      messageId: claims.msg,
      template: claims.tpl,
      status: awaitingPayment ? 'awaiting_payment' : 'placed',
      currency: priced.currency,
      // The language of the email the customer bought from; the stored profile's otherwise.
      locale: claims.loc ?? customer.locale,
      lines: priced.lines,
      totalMinor: priced.totalMinor,
      ...(awaitingPayment ? { paymentLink: paymentLink(deps.publicBaseUrl, id, deps.keys) } : {}),
      shippingAddress: address,
      clearCart: request.from === 'cart',
    });
    const created = 'order' in result && result.created;
    return { result, confirmationQueued: created && (await queueOrderConfirmation(tx, result.order, customer, deps.now())) };
  });
  if ('order' in result) return { kind: 'order', order: result.order, created: result.created, ...(result.created ? { confirmationQueued } : {}) };
  if (result.error === 'out_of_stock') {
    return { kind: 'refused', code: 'out_of_stock', title: products.find((p) => p.sku === result.sku)?.title, sku: result.sku, size: result.size };
  }
  // Another channel checked the cart out (or it changed) between pricing and the order.
  if (result.error === 'cart_changed') return { kind: 'refused', code: 'cart_changed' };
  // The key hashes the customer id, so only a SHA-256 collision could land here.
  throw new Error(`idempotency key of message ${claims.msg} is held by another customer's order`);
}

async function recentCartOrder(store: Store, claims: AmpClaims, now: Date): Promise<Order | undefined> {
  const orders = await store.orders.listByCustomer(claims.sub);
  return orders.find(
    (o) => o.messageId === claims.msg && o.idempotencyKey.startsWith('amp-cart:') && now.getTime() - Date.parse(o.createdAt) < CART_REPLAY_WINDOW_MS,
  );
}

/** "Buy now" without an address: the item goes to the cart the shop's checkout shows (not twice on a double click). */
async function keepInCart(store: Store, customerId: Customer['id'], request: CheckoutRequest): Promise<void> {
  if (request.from === 'cart') return;
  const existing = (await store.carts.get(customerId)).items.find((i) => i.sku === request.sku && i.size === request.size);
  if (!existing || existing.quantity < request.quantity) await store.carts.setItem(customerId, request.sku, request.size, request.quantity);
}

function shopCheckoutUrl(shopUrl: string, claims: AmpClaims): string {
  const params: CampaignParams = { source: 'inboxcart', medium: 'email', campaign: claims.cmp ?? claims.tpl, content: claims.tpl };
  return withCampaignParams(new URL('checkout', shopUrl), params);
}

import { randomUUID } from 'node:crypto';
import { queueOrderConfirmation } from './confirmation-queue.ts';
import type { CartItem } from '../store/carts-repository.ts';
import type { Customer } from '../store/customers-repository.ts';
import { findPlacedOrder, placeOrder, type Order, type PlaceOrderInput, type Product, type Repositories } from '../store/index.ts';
import type { AmpClaims, MessageOffer } from '../commerce/amp-claims.ts';
import { linesDigest } from './lines-digest.ts';
import { messageCart } from './message-cart.ts';
import { paymentLink } from '../commerce/payment-link.ts';
import { priceOrder, type PricingResult, type RequestedLine } from './price-order.ts';
import { recordOrderCreated } from './shop-events.ts';
import type { SigningKey } from '../commerce/signed-token.ts';

/**
 * The one checkout of every channel (shared/DESIGN.md, "One customer, one cart"): the rules a
 * cart changes under, and the way a request to buy becomes an order. The email's AMP endpoints
 * and the WhatsApp conversation only turn requests into these calls and the outcomes into
 * status codes or chat replies; the same situation gets the same outcome in both.
 */

export interface CheckoutDeps {
  /**
   * The database, or the transaction the caller's other writes commit in (the chat handles an
   * inbound message in one): the order then joins it.
   */
  store: Repositories;
  keys: readonly SigningKey[];
  publicBaseUrl: string;
  now: () => Date;
}

/**
 * The message a request came through, as far as buying goes: whose it is (`sub`), the products
 * it offered (`skus`) and the cart it showed (`cart` at `cat`, see message-cart.ts). An email's
 * token claims are one as they are; the chat names the products its signed tap carried.
 */
export type MessageScope = Pick<AmpClaims, 'sub' | 'cart' | 'cat'> & { skus: readonly string[] };

/** What a cart change asks for; a `set` to 0 removes the line like `remove`. */
export type CartChange =
  | { action: 'add'; sku: string; size: string; quantity: number }
  | { action: 'set'; sku: string; size: string; quantity: number }
  | { action: 'remove'; sku: string; size: string }
  /** Every piece once in its size; pieces already in the cart stay as they are. */
  | { action: 'add-look'; pieces: readonly { sku: string; size: string }[] };

/**
 * Why nothing was changed or bought. `title` is the product's when it is known; `stock` what is
 * left of `size` when a cart change asked for more.
 */
export interface Refusal {
  kind: 'refused';
  code: RefusalCode;
  sku?: string;
  size?: string;
  title?: string;
  stock?: number;
}

export type RefusalCode =
  /** The message neither offered the product nor is it in the cart (a leaked token must not buy anything else). */
  | 'not_in_message'
  | 'unknown_product'
  | 'unknown_size'
  | 'out_of_stock'
  | 'mixed_currency'
  | 'empty'
  /** The cart is no longer what the customer saw the total of, or another channel checked it out. */
  | 'cart_changed'
  /** The idempotency key already made another customer's order: never handed out. */
  | 'idempotency_key_reused';

export type CartChangeOutcome = { kind: 'changed'; items: CartItem[] } | Refusal;

/** What is bought: the cart the message acts on, or one item ("buy now", the chat's item flow). */
export type Purchase =
  /**
   * `confirmed`: the linesDigest of the cart the customer was shown the total of (the chat's
   * confirm step); a cart that differs now is refused `cart_changed`. The email's form buys the
   * cart as it is.
   */
  | { from: 'cart'; confirmed?: string }
  | { from: 'item'; sku: string; size: string; quantity: number };

export interface CheckoutRequest {
  message: MessageScope;
  purchase: Purchase;
  /** The discount the message carries, while it applies. */
  offer?: MessageOffer;
  /** The market the message was priced for: the currency of a customer the store does not know. */
  currency?: string;
  /** Attribution of the order; `locale` defaults to the customer's. */
  order: Pick<PlaceOrderInput, 'channel' | 'campaignId' | 'messageId' | 'template' | 'locale'>;
  /**
   * The order's idempotency key for the lines bought. Each channel keeps its own format, so an
   * order placed by earlier code is still found on resubmission. Undefined when the lines cannot
   * name it (an email cart its first submission emptied).
   */
  idempotencyKey(lines: readonly RequestedLine[]): string | undefined;
  /** With no lines to buy: the order an earlier submission made from them, if the channel can tell. */
  earlierOrder?(): Promise<Order | undefined>;
  /**
   * Without a delivery address the customer finishes in the shop, whose checkout shows the cart:
   * with this, a bought item waits there (the email). The chat asks for the address instead.
   */
  keepItemForShop: boolean;
  /** Queue a new order's WhatsApp confirmation in the order's transaction (orders placed outside the chat). */
  confirmOnWhatsApp: boolean;
}

export type CheckoutOutcome =
  /** `confirmationQueued`: a new order's WhatsApp confirmation was queued with it; the caller sends it once its answer is out. */
  | { kind: 'order'; order: Order; created: boolean; confirmationQueued?: boolean }
  /** No delivery address on file: nothing is ordered, the customer finishes in the shop. */
  | { kind: 'continue_in_shop'; currency: string; totalMinor: number }
  | Refusal;

export type Quote = { kind: 'priced'; lines: RequestedLine[]; priced: Extract<PricingResult, { ok: true }> } | Refusal;

/**
 * Changes the customer's cart under the cart rules: the message's cart seeds the store cart
 * first (message-cart.ts); adding or setting a line needs the product in the message's scope,
 * the product and size to exist, and the stock for the cart's new quantity; removing needs
 * nothing. Returns the cart after the change.
 *
 * @example
 * await changeCart(store, claims, { action: 'add', sku: 'NL-TOP-001', size: 'M', quantity: 1 })
 * // { kind: 'changed', items: [{ sku: 'NL-TOP-001', size: 'M', quantity: 1 }] }
 */
export async function changeCart(store: Repositories, message: MessageScope, change: CartChange): Promise<CartChangeOutcome> {
  const customerId = message.sub;
  await messageCart(store, message, { seed: true });
  if (change.action === 'remove' || (change.action === 'set' && change.quantity === 0)) {
    return { kind: 'changed', items: (await store.carts.setItem(customerId, change.sku, change.size, 0)).items };
  }
  const inCart = (await store.carts.get(customerId)).items;
  if (change.action === 'add-look') {
    const products = await store.products.getMany(change.pieces.map((p) => p.sku));
    for (const piece of change.pieces) {
      const refused = outOfScope(message, inCart, piece.sku) ?? unsellable(products, piece.sku, piece.size, 1);
      if (refused) return refused;
    }
    let items = inCart;
    for (const piece of change.pieces) {
      if (!inCart.some((i) => i.sku === piece.sku && i.size === piece.size)) items = (await store.carts.setItem(customerId, piece.sku, piece.size, 1)).items;
    }
    return { kind: 'changed', items };
  }
  const current = inCart.find((i) => i.sku === change.sku && i.size === change.size)?.quantity ?? 0;
  const wanted = change.action === 'add' ? current + change.quantity : change.quantity;
  const refused = outOfScope(message, inCart, change.sku) ?? unsellable(await store.products.getMany([change.sku]), change.sku, change.size, wanted);
  if (refused) return refused;
  const cart =
    change.action === 'add'
      ? await store.carts.addItem(customerId, change.sku, change.size, change.quantity)
      : await store.carts.setItem(customerId, change.sku, change.size, wanted);
  return { kind: 'changed', items: cart.items };
}

/**
 * Prices what a purchase would buy now, from the catalog, for the customer's market and the
 * message's offer; writes nothing (the chat's confirm step shows it).
 */
export async function quote(store: Repositories, request: Pick<CheckoutRequest, 'message' | 'purchase' | 'offer' | 'currency'>): Promise<Quote> {
  const customer = await store.customers.get(request.message.sub);
  const lines = await purchaseLines(store, request, { seed: false });
  return (await priced(store, request, customer, lines)).quote;
}

/**
 * Turns a request to buy into an order. The key is looked up first: a resubmission gets the
 * order its first submission made, even when that order took the last unit (issue: a
 * resubmitted form answered 409 `out_of_stock` for an order that exists). Then the lines are
 * priced from the catalog (only sku, size and quantity come from the request); with a delivery
 * address and a saved payment method the order is placed, with an address only it awaits
 * payment through a signed payment link, without one the customer continues in the shop.
 * placeOrder takes the stock atomically and, for a cart, empties it in the same transaction,
 * which also holds the `order.created` webhook event and the channel's extras (the WhatsApp
 * confirmation of an email order).
 */
export async function checkout(deps: CheckoutDeps, request: CheckoutRequest): Promise<CheckoutOutcome> {
  const { store } = deps;
  const { message, purchase } = request;
  const customer = await store.customers.get(message.sub);
  if (purchase.from === 'item') {
    // The cart is read only when the message itself did not offer the product.
    const refused = offers(message, purchase.sku) ? undefined : outOfScope(message, (await store.carts.get(message.sub)).items, purchase.sku);
    if (refused) return refused;
  }
  const lines = await purchaseLines(store, request, { seed: true });
  const idempotencyKey = request.idempotencyKey(lines);
  const placed = idempotencyKey === undefined ? undefined : await findPlacedOrder(store, idempotencyKey, message.sub);
  if (placed) return { kind: 'order', order: placed, created: false };
  if (lines.length === 0) {
    const earlier = await request.earlierOrder?.();
    if (earlier) return { kind: 'order', order: earlier, created: false };
  }

  const { quote: q, products } = await priced(store, request, customer, lines);
  if (q.kind === 'refused') {
    // The same request's first submission may have committed since the look-up above.
    const late = idempotencyKey === undefined ? undefined : await findPlacedOrder(store, idempotencyKey, message.sub);
    return late ? { kind: 'order', order: late, created: false } : q;
  }
  if (purchase.from === 'cart' && purchase.confirmed !== undefined && linesDigest(lines) !== purchase.confirmed) return { kind: 'refused', code: 'cart_changed' };

  if (!customer?.address) {
    if (request.keepItemForShop && purchase.from === 'item') await keepInCart(store, message.sub, purchase);
    return { kind: 'continue_in_shop', currency: q.priced.currency, totalMinor: q.priced.totalMinor };
  }
  // Lines were priced, so the channel can name them.
  if (idempotencyKey === undefined) throw new Error(`checkout of message ${request.order.messageId ?? '(none)'} names no idempotency key for its lines`);

  const id = randomUUID();
  const awaitingPayment = !customer.paymentMethod;
  const address = customer.address;
  const { result, confirmationQueued } = await store.transaction(async (tx) => {
    const result = await placeOrder(tx, {
      id,
      idempotencyKey,
      customerId: message.sub,
      channel: request.order.channel,
      ...(request.order.campaignId === undefined ? {} : { campaignId: request.order.campaignId }),
      ...(request.order.messageId === undefined ? {} : { messageId: request.order.messageId }),
      ...(request.order.template === undefined ? {} : { template: request.order.template }),
      status: awaitingPayment ? 'awaiting_payment' : 'placed',
      currency: q.priced.currency,
      locale: request.order.locale ?? customer.locale,
      lines: q.priced.lines,
      totalMinor: q.priced.totalMinor,
      ...(awaitingPayment ? { paymentLink: paymentLink(deps.publicBaseUrl, id, deps.keys) } : {}),
      shippingAddress: address,
      clearCart: purchase.from === 'cart',
    });
    const created = 'order' in result && result.created;
    // The shop hears of the order from the same commit, whichever channel placed it.
    if (created) await recordOrderCreated(tx, result.order);
    const queued = created && request.confirmOnWhatsApp && (await queueOrderConfirmation(tx, result.order, customer, deps.now()));
    return { result, confirmationQueued: queued };
  });
  if ('order' in result) return { kind: 'order', order: result.order, created: result.created, ...(result.created ? { confirmationQueued } : {}) };
  if (result.error === 'out_of_stock') return refusal('out_of_stock', products, result.sku, result.size);
  return { kind: 'refused', code: result.error };
}

/** The lines a purchase buys: the cart the message acts on (seeded from it, when buying), or the item. */
async function purchaseLines(store: Repositories, request: Pick<CheckoutRequest, 'message' | 'purchase'>, options: { seed: boolean }): Promise<RequestedLine[]> {
  const { purchase } = request;
  if (purchase.from === 'item') return [{ sku: purchase.sku, size: purchase.size, quantity: purchase.quantity }];
  return (await messageCart(store, request.message, options)).map(({ sku, size, quantity }) => ({ sku, size, quantity }));
}

async function priced(
  store: Repositories,
  request: Pick<CheckoutRequest, 'offer' | 'currency'>,
  customer: Customer | undefined,
  lines: readonly RequestedLine[],
): Promise<{ quote: Quote; products: Product[] }> {
  if (lines.length === 0) return { quote: { kind: 'refused', code: 'empty' }, products: [] };
  const products = await store.products.getMany(lines.map((l) => l.sku));
  const currency = customer?.currency ?? request.currency ?? products[0]?.currency ?? 'EUR';
  const result = priceOrder(products, lines, currency, request.offer);
  if (!result.ok) return { quote: refusal(result.code, products, result.sku, result.size), products };
  return { quote: { kind: 'priced', lines: [...lines], priced: result }, products };
}

function refusal(code: RefusalCode, products: readonly Product[], sku: string | undefined, size: string | undefined, stock?: number): Refusal {
  const title = sku === undefined ? undefined : products.find((p) => p.sku === sku)?.title;
  return {
    kind: 'refused',
    code,
    ...(title === undefined ? {} : { title }),
    ...(sku === undefined ? {} : { sku }),
    ...(size === undefined ? {} : { size }),
    ...(stock === undefined ? {} : { stock }),
  };
}

/**
 * A message's token buys what the message offered (its products and the cart it showed) and
 * what is already in the customer's cart; anything else is refused. Tokens are meant to be
 * scope-limited (GmailDev, authenticating requests): a leaked token must not order arbitrary
 * products to the saved address with the saved card.
 */
function offers(message: MessageScope, sku: string): boolean {
  return message.skus.includes(sku) || message.cart?.some(([cartSku]) => cartSku === sku) === true;
}

function outOfScope(message: MessageScope, inCart: readonly CartItem[], sku: string): Refusal | undefined {
  return offers(message, sku) || inCart.some((i) => i.sku === sku) ? undefined : { kind: 'refused', code: 'not_in_message', sku };
}

/** The product and size a cart line names exist, with stock for `quantity`. */
function unsellable(products: readonly Product[], sku: string, sizeName: string, quantity: number): Refusal | undefined {
  const product = products.find((p) => p.sku === sku);
  if (!product) return { kind: 'refused', code: 'unknown_product', sku };
  const size = product.sizes.find((s) => s.size === sizeName);
  if (!size) return refusal('unknown_size', products, sku, sizeName);
  return quantity > size.stock ? refusal('out_of_stock', products, sku, sizeName, size.stock) : undefined;
}

/** The item goes to the cart the shop's checkout shows, not twice on a double click. */
async function keepInCart(store: Repositories, customerId: string, item: RequestedLine): Promise<void> {
  const existing = (await store.carts.get(customerId)).items.find((i) => i.sku === item.sku && i.size === item.size);
  if (!existing || existing.quantity < item.quantity) await store.carts.setItem(customerId, item.sku, item.size, item.quantity);
}

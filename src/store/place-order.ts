import { randomInt, randomUUID } from 'node:crypto';
import type { Address } from './customers-repository.ts';
import type { Executor } from './database-schema.ts';
import { isUniqueViolation } from './db-errors.ts';
import type { CartsRepository } from './carts-repository.ts';
import { minorDigits } from '../commerce/money.ts';
import type { Order, OrderChannel, OrderLine, OrderStatus, OrdersRepository } from './orders-repository.ts';
import type { ProductsRepository } from './products-repository.ts';
import { isoNow, systemClock, toIsoTimestamp, type Clock } from './timestamps.ts';
import { atomically } from './transactions.ts';

export interface PlaceOrderInput {
  /** Same key, same order: a form submitted twice or a retried webhook makes one order. */
  idempotencyKey: string;
  customerId: string;
  channel: OrderChannel;
  campaignId?: string;
  messageId?: string;
  template?: string;
  /** Defaults to `placed`; `awaiting_payment` when the customer still has to pay a link. */
  status?: OrderStatus;
  currency: string;
  /** BCP 47 locale of the message the customer ordered from. */
  locale?: string;
  /** Priced by the caller from the catalog, never from what a client sent. */
  lines: OrderLine[];
  /** Defaults to the sum of the lines; pass it when shipping or discounts change the total. */
  totalMinor?: number;
  paymentLink?: string;
  shippingAddress: Address;
  /**
   * The order is the customer's cart: it is emptied in the same transaction, and if it no longer
   * holds exactly these lines (another channel checked it out, or it changed) nothing is placed.
   */
  clearCart?: boolean;
  /** Normally generated; given only when the caller needs to know them up front. */
  id?: string;
  number?: string;
  createdAt?: string;
}

export type PlaceOrderResult =
  | { order: Order; created: boolean }
  | { error: 'out_of_stock'; sku: string; size: string }
  /** clearCart: the cart no longer holds the order's lines (checked out elsewhere, or changed). */
  | { error: 'cart_changed' }
  /** The key already made an order for another customer; never hand that order out. */
  | { error: 'idempotency_key_reused' };

export interface PlaceOrderStore {
  db: Executor;
  orders: OrdersRepository;
  products: ProductsRepository;
  carts: CartsRepository;
  /** Stamps the order's createdAt unless the input gives one. */
  now?: Clock;
}

class OutOfStock extends Error {
  constructor(
    readonly sku: string,
    readonly size: string,
  ) {
    super(`out of stock: ${sku} ${size}`);
  }
}

class CartChanged extends Error {}

function sameLines(cart: readonly { sku: string; size: string; quantity: number }[], lines: readonly OrderLine[]): boolean {
  const key = (l: { sku: string; size: string; quantity: number }) => JSON.stringify([l.sku, l.size, l.quantity]);
  const a = cart.map(key).sort();
  const b = stockTakes(lines).map(key).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

const NUMBER_ATTEMPTS = 5;

/**
 * Places an order atomically: claims the idempotency key by inserting the order, takes the
 * stock for every line, optionally empties the cart. If any size is short, nothing is written
 * and the short sku/size is returned.
 *
 * The order row goes in first on purpose. A second submission with the same key then waits on
 * the key (PostgreSQL) or on the single connection (SQLite) before touching stock, and finds
 * the first order instead of competing with it for the last unit.
 *
 * With `store.db` a transaction (`store.transaction(tx => placeOrder(tx, …))`), the order
 * commits with the caller's other writes; a refusal or a retried number clash rolls back to a
 * savepoint, so the caller's transaction goes on. Otherwise it is a transaction of its own.
 */
export async function placeOrder(store: PlaceOrderStore, input: PlaceOrderInput): Promise<PlaceOrderResult> {
  minorDigits(input.currency);
  for (let attempt = 1; ; attempt++) {
    const order = buildOrder(input, store.now);
    try {
      return await atomically(store.db, async (trx) => {
        if (!(await store.orders.create(trx, order))) {
          return existing(await store.orders.getByIdempotencyKey(order.idempotencyKey, trx), input);
        }
        for (const { sku, size, quantity } of stockTakes(order.lines)) {
          if (!(await store.products.decrementStock(trx, sku, size, quantity))) throw new OutOfStock(sku, size);
        }
        if (input.clearCart && !sameLines(await store.carts.take(order.customerId, trx), order.lines)) throw new CartChanged();
        return { order, created: true };
      });
    } catch (error) {
      if (error instanceof OutOfStock) return { error: 'out_of_stock', sku: error.sku, size: error.size };
      if (error instanceof CartChanged) return { error: 'cart_changed' };
      // ON CONFLICT covers the key; this catches a driver or isolation level that reports the
      // race as a violation instead. The other transaction has committed by now.
      if (isUniqueViolation(error, 'orders', 'idempotency_key')) {
        return existing(await store.orders.getByIdempotencyKey(order.idempotencyKey, store.db), input);
      }
      const generatedClash =
        (input.number === undefined && isUniqueViolation(error, 'orders', 'number')) ||
        (input.id === undefined && isUniqueViolation(error, 'orders', 'id', 'orders_pkey'));
      if (generatedClash && attempt < NUMBER_ATTEMPTS) continue;
      throw error;
    }
  }
}

/**
 * The order `idempotencyKey` already made for this customer, if any. Checkouts look it up
 * before pricing: the stock check there would answer a resubmission whose first submission
 * took the last unit with "sold out" instead of its order. Same key, same answer.
 */
export async function findPlacedOrder(store: Pick<PlaceOrderStore, 'orders'>, idempotencyKey: string, customerId: string): Promise<Order | undefined> {
  const order = await store.orders.getByIdempotencyKey(idempotencyKey);
  return order?.customerId === customerId ? order : undefined;
}

function existing(order: Order | undefined, input: PlaceOrderInput): PlaceOrderResult {
  // Unreachable unless the order was deleted between the conflict and the read.
  if (!order) throw new Error(`order with idempotency key ${input.idempotencyKey} vanished`);
  if (order.customerId !== input.customerId) return { error: 'idempotency_key_reused' };
  return { order, created: false };
}

function buildOrder(input: PlaceOrderInput, clock: Clock = systemClock): Order {
  const totalMinor = input.totalMinor ?? input.lines.reduce((sum, l) => sum + l.unitPriceMinor * l.quantity, 0);
  return {
    id: input.id ?? randomUUID(),
    number: input.number ?? newOrderNumber(),
    customerId: input.customerId,
    channel: input.channel,
    ...(input.campaignId === undefined ? {} : { campaignId: input.campaignId }),
    ...(input.messageId === undefined ? {} : { messageId: input.messageId }),
    ...(input.template === undefined ? {} : { template: input.template }),
    status: input.status ?? 'placed',
    currency: input.currency,
    ...(input.locale === undefined ? {} : { locale: input.locale }),
    totalMinor,
    ...(input.paymentLink === undefined ? {} : { paymentLink: input.paymentLink }),
    shippingAddress: input.shippingAddress,
    idempotencyKey: input.idempotencyKey,
    createdAt: input.createdAt === undefined ? isoNow(clock) : toIsoTimestamp(input.createdAt),
    lines: input.lines.map((l) => ({ ...l })),
  };
}

/**
 * One decrement per sku/size, in a fixed order. Two orders that share sizes then lock the
 * rows in the same sequence on PostgreSQL and cannot deadlock each other (a cancellation puts
 * the stock back in the same order, for the same reason).
 */
export function stockTakes(lines: readonly OrderLine[]): { sku: string; size: string; quantity: number }[] {
  const bySize = new Map<string, { sku: string; size: string; quantity: number }>();
  for (const l of lines) {
    const key = JSON.stringify([l.sku, l.size]);
    const take = bySize.get(key);
    if (take) take.quantity += l.quantity;
    else bySize.set(key, { sku: l.sku, size: l.size, quantity: l.quantity });
  }
  return [...bySize.values()].sort((a, b) => compare(a.sku, b.sku) || compare(a.size, b.size));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Crockford's base32: no I, L, O or U, so a number read over the phone is unambiguous.
const ORDER_NUMBER_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** IC- and 8 random characters: 2^40 values, collisions are rare and retried. */
export function newOrderNumber(): string {
  let out = 'IC-';
  for (let i = 0; i < 8; i++) out += ORDER_NUMBER_ALPHABET.charAt(randomInt(ORDER_NUMBER_ALPHABET.length));
  return out;
}

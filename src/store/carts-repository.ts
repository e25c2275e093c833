import type { Executor } from './database-schema.ts';
import { inTransaction } from './transactions.ts';
import { isoNow, systemClock, type Clock } from './timestamps.ts';

export interface CartItem {
  sku: string;
  size: string;
  quantity: number;
}

/**
 * One cart per customer, shared by every channel: an item added from an email is in the cart
 * the WhatsApp conversation shows.
 */
export interface Cart {
  customerId: string;
  /** In the order they were first added. */
  items: CartItem[];
  /** null when the customer never had a cart. */
  updatedAt: string | null;
}

export interface CartsRepository {
  /** Always a cart; an empty one for a customer who never added anything. */
  get(customerId: string, executor?: Executor): Promise<Cart>;
  /** Sets the quantity of one line; 0 removes it. */
  setItem(customerId: string, sku: string, size: string, quantity: number): Promise<Cart>;
  /**
   * Adds to the quantity already in the cart in one statement, so two channels adding at the
   * same moment both count.
   */
  addItem(customerId: string, sku: string, size: string, quantity: number): Promise<Cart>;
  /**
   * Makes the cart exactly these lines, in this order, in one transaction: the cart a message
   * showed taking over an older store cart (shop/message-cart.ts). Repeated lines add up.
   */
  replace(customerId: string, items: readonly CartItem[]): Promise<Cart>;
  /** Empties the cart; pass the transaction to clear it together with placing an order. */
  clear(customerId: string, executor?: Executor): Promise<void>;
  /**
   * Empties the cart and returns what was in it, in one statement: of two transactions taking
   * the same cart (an email checkout and a WhatsApp "yes"), the second finds it empty.
   */
  take(customerId: string, executor?: Executor): Promise<{ sku: string; size: string; quantity: number }[]>;
}

const MAX_QUANTITY = 10_000;

export function createCartsRepository(db: Executor, clock: Clock = systemClock): CartsRepository {
  async function get(customerId: string, executor: Executor = db): Promise<Cart> {
    const cart = await executor
      .selectFrom('carts')
      .select('updated_at')
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
    if (!cart) return { customerId, items: [], updatedAt: null };
    const items = await executor
      .selectFrom('cart_items')
      .select(['sku', 'size', 'quantity'])
      .where('customer_id', '=', customerId)
      .orderBy('added_at')
      .orderBy('sku')
      .orderBy('size')
      .execute();
    return { customerId, items, updatedAt: cart.updated_at };
  }

  async function touch(trx: Executor, customerId: string, now: string): Promise<void> {
    await trx
      .insertInto('carts')
      .values({ customer_id: customerId, updated_at: now })
      .onConflict((oc) => oc.column('customer_id').doUpdateSet({ updated_at: now }))
      .execute();
  }

  return {
    get,

    async setItem(customerId, sku, size, quantity) {
      checkQuantity(quantity, 0);
      return inTransaction(db, async (trx) => {
        const now = isoNow(clock);
        await touch(trx, customerId, now);
        if (quantity === 0) {
          await trx
            .deleteFrom('cart_items')
            .where('customer_id', '=', customerId)
            .where('sku', '=', sku)
            .where('size', '=', size)
            .execute();
        } else {
          await trx
            .insertInto('cart_items')
            .values({ customer_id: customerId, sku, size, quantity, added_at: await nextAddedAt(trx, customerId, now) })
            .onConflict((oc) => oc.columns(['customer_id', 'sku', 'size']).doUpdateSet({ quantity }))
            .execute();
        }
        return get(customerId, trx);
      });
    },

    async addItem(customerId, sku, size, quantity) {
      checkQuantity(quantity, 1);
      return inTransaction(db, async (trx) => {
        const now = isoNow(clock);
        await touch(trx, customerId, now);
        await trx
          .insertInto('cart_items')
          .values({ customer_id: customerId, sku, size, quantity, added_at: await nextAddedAt(trx, customerId, now) })
          .onConflict((oc) =>
            oc.columns(['customer_id', 'sku', 'size']).doUpdateSet((eb) => ({
              quantity: eb('cart_items.quantity', '+', eb.ref('excluded.quantity')),
            })),
          )
          .execute();
        return get(customerId, trx);
      });
    },

    async replace(customerId, items) {
      for (const item of items) checkQuantity(item.quantity, 1);
      return inTransaction(db, async (trx) => {
        const now = isoNow(clock);
        await touch(trx, customerId, now);
        await trx.deleteFrom('cart_items').where('customer_id', '=', customerId).execute();
        // One millisecond apart, so the lines list in the order given (see nextAddedAt).
        const start = Date.parse(now);
        for (const [i, { sku, size, quantity }] of items.entries()) {
          await trx
            .insertInto('cart_items')
            .values({ customer_id: customerId, sku, size, quantity, added_at: new Date(start + i).toISOString() })
            .onConflict((oc) =>
              oc.columns(['customer_id', 'sku', 'size']).doUpdateSet((eb) => ({
                quantity: eb('cart_items.quantity', '+', eb.ref('excluded.quantity')),
              })),
            )
            .execute();
        }
        return get(customerId, trx);
      });
    },

    async take(customerId, executor = db) {
      // The cart row first, as setItem and addItem lock it: on PostgreSQL a checkout and a cart
      // change of the same customer then take their row locks in one order and cannot deadlock.
      await executor.updateTable('carts').set({ updated_at: isoNow(clock) }).where('customer_id', '=', customerId).execute();
      return executor.deleteFrom('cart_items').where('customer_id', '=', customerId).returning(['sku', 'size', 'quantity']).execute();
    },

    async clear(customerId, executor = db) {
      await executor.deleteFrom('cart_items').where('customer_id', '=', customerId).execute();
      await executor
        .updateTable('carts')
        .set({ updated_at: isoNow(clock) })
        .where('customer_id', '=', customerId)
        .execute();
    },
  };
}

function checkQuantity(quantity: number, min: number): void {
  if (!Number.isSafeInteger(quantity) || quantity < min || quantity > MAX_QUANTITY) {
    throw new RangeError(`quantity must be an integer from ${min} to ${MAX_QUANTITY}, got ${quantity}`);
  }
}

/**
 * Lines are listed in the order they were first added. Two adds within one millisecond would
 * tie on the timestamp (and then sort by SKU), so each new line gets a time strictly after the
 * cart's latest one.
 */
async function nextAddedAt(trx: Executor, customerId: string, now: string): Promise<string> {
  const row = await trx.selectFrom('cart_items').select((eb) => eb.fn.max('added_at').as('latest')).where('customer_id', '=', customerId).executeTakeFirst();
  const latest = row?.latest as string | null | undefined;
  if (!latest || latest < now) return now;
  return new Date(Date.parse(latest) + 1).toISOString();
}

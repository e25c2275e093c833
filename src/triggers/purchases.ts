import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import { chunks } from '../store/chunks.ts';
import type { CustomerEventQueries } from './customer-events.ts';

const IDS_PER_QUERY = 500;

/** One purchase, from either source: an order placed in a message (orders table) or one the shop reported (order_placed). */
export interface Purchase {
  customerId: string;
  at: string;
  skus: string[];
}

/**
 * What customers bought, from both places it is known: the orders inboxcart placed (AMP and
 * WhatsApp checkout) and the `order_placed` events the shop sends for the rest. Every trigger
 * that asks "has the customer ordered since?" asks here.
 */
export function createPurchases(db: Kysely<Database>, events: CustomerEventQueries) {
  async function placedSince(customerIds: readonly string[], since: string): Promise<Purchase[]> {
    const out: Purchase[] = [];
    for (const slice of chunks([...customerIds], IDS_PER_QUERY)) {
      const rows = await db
        .selectFrom('orders')
        .innerJoin('order_lines', 'order_lines.order_id', 'orders.id')
        .select(['orders.id', 'orders.customer_id', 'orders.created_at', 'order_lines.sku'])
        .where('orders.customer_id', 'in', slice)
        .where('orders.created_at', '>=', since)
        .execute();
      const byOrder = new Map<string, Purchase>();
      for (const r of rows) {
        const p = byOrder.get(r.id) ?? { customerId: r.customer_id, at: r.created_at, skus: [] };
        p.skus.push(r.sku);
        byOrder.set(r.id, p);
      }
      out.push(...byOrder.values());
    }
    for (const e of await events.ordersSince(customerIds, since)) {
      if (e.event.type === 'order_placed') out.push({ customerId: e.customerId, at: e.occurredAt, skus: e.event.items.map((i) => i.sku) });
    }
    return out;
  }

  return {
    placedSince,

    /** The latest order of each of these customers, from either source (undefined: none known). */
    async lastOrders(customerIds: readonly string[]): Promise<Map<string, string>> {
      const out = await events.lastOrders(customerIds);
      for (const slice of chunks([...customerIds], IDS_PER_QUERY)) {
        const rows = await db
          .selectFrom('orders')
          .select(['customer_id', (eb) => eb.fn.max('created_at').as('last')])
          .where('customer_id', 'in', slice)
          .groupBy('customer_id')
          .execute();
        for (const r of rows) {
          const last = String(r.last);
          const known = out.get(r.customer_id);
          if (known === undefined || known < last) out.set(r.customer_id, last);
        }
      }
      return out;
    },
  };
}

export type Purchases = ReturnType<typeof createPurchases>;

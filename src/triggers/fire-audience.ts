import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import { chunks } from '../store/chunks.ts';
import type { CustomerEventQueries } from './customer-events.ts';
import type { Purchases } from './purchases.ts';
import type { Fire } from './trigger-fires.ts';

export interface FireMember {
  customerId: string;
  /** The cart the reminder shows (abandoned cart). */
  cart?: { items: { sku: string; size?: string; quantity: number }[]; updatedAt: string };
}

interface Deps {
  db: Kysely<Database>;
  events: CustomerEventQueries;
  purchases: Purchases;
}

/**
 * Who a fire notifies, from what its cause recorded (so dispatching it again finds the same
 * people, less any who bought in between):
 * - price drop: who viewed or wishlisted the product in the window before the drop, in that
 *   market (the customer's currency), and did not buy it since they first did;
 * - back in stock: who asked for that size since the previous restock (or the window start);
 * - the others: the one customer of the cause.
 */
export async function fireAudience(fire: Fire, deps: Deps): Promise<FireMember[]> {
  const c = fire.cause as Record<string, unknown>;
  switch (fire.trigger) {
    case 'price-drop': {
      const sku = String(c.sku);
      const touched = await deps.events.firstTouches(sku, ['product_viewed', 'wishlist_added'], String(c.viewedFrom), String(c.since));
      const inMarket = await customersInCurrency(deps.db, [...touched.keys()], String(c.currency));
      const earliest = [...touched.values()].sort()[0];
      const bought = new Set<string>();
      if (earliest) {
        for (const p of await deps.purchases.placedSince(inMarket, earliest)) {
          if (p.skus.includes(sku) && p.at >= touched.get(p.customerId)!) bought.add(p.customerId);
        }
      }
      return inMarket.filter((id) => !bought.has(id)).map((customerId) => ({ customerId }));
    }
    case 'back-in-stock': {
      const ids = await deps.events.requesters(String(c.sku), String(c.size), String(c.requestedAfter), String(c.since));
      return ids.map((customerId) => ({ customerId }));
    }
    case 'abandoned-cart':
      return [{ customerId: String(c.customerId), cart: { items: c.items as NonNullable<FireMember['cart']>['items'], updatedAt: String(c.cartUpdatedAt) } }];
    case 'birthday':
    case 'win-back':
      return [{ customerId: String(c.customerId) }];
  }
}

async function customersInCurrency(db: Kysely<Database>, ids: readonly string[], currency: string): Promise<string[]> {
  const out: string[] = [];
  for (const slice of chunks([...ids], 500)) {
    const rows = await db.selectFrom('customers').select('id').where('id', 'in', slice).where('currency', '=', currency).execute();
    out.push(...rows.map((r) => r.id));
  }
  return out.sort();
}

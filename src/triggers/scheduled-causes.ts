import type { Kysely } from 'kysely';
import { storedProfile } from '../campaigns/audience.ts';
import type { Database } from '../store/database-schema.ts';
import { toCustomer } from '../store/customers-repository.ts';
import type { CustomerEventQueries } from './customer-events.ts';
import { isBirthday, localDate } from './local-date.ts';
import type { Purchases } from './purchases.ts';
import type { TriggerSettings } from './trigger-config.ts';
import type { Cause } from './trigger-fires.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Customers read per query on a scan: bounded memory for millions of rows. */
const PAGE = 1000;

interface Deps {
  db: Kysely<Database>;
  events: CustomerEventQueries;
  purchases: Purchases;
}

type CartLine = { sku: string; size?: string; quantity: number };

/**
 * Carts left `hours` ago or longer (but no longer than `maxAgeHours`), with items, and no order
 * since. A cart is the newer of the shop's (the last `cart_updated` event) and inboxcart's own
 * (AMP and WhatsApp carts, one per customer). The cause is the cart as of its last change: a
 * cart changed again is a new cause, the same one seen by the next tick is not.
 */
export async function abandonedCartCauses(at: Date, hours: number, settings: TriggerSettings['abandoned-cart'], deps: Deps): Promise<Cause[]> {
  const from = new Date(at.getTime() - settings.maxAgeHours * HOUR_MS).toISOString();
  const to = new Date(at.getTime() - hours * HOUR_MS).toISOString();
  const carts = new Map<string, { at: string; items: CartLine[] }>();
  for (const e of await deps.events.latestCarts(from)) {
    if (e.event.type === 'cart_updated') carts.set(e.customerId, { at: e.occurredAt, items: e.event.items });
  }
  const stored = await deps.db
    .selectFrom('carts')
    .innerJoin('cart_items', 'cart_items.customer_id', 'carts.customer_id')
    .select(['carts.customer_id', 'carts.updated_at', 'cart_items.sku', 'cart_items.size', 'cart_items.quantity'])
    .where('carts.updated_at', '>=', from)
    .orderBy('carts.customer_id')
    .orderBy('cart_items.added_at')
    .execute();
  const own = new Map<string, { at: string; items: CartLine[] }>();
  for (const r of stored) {
    const cart = own.get(r.customer_id) ?? { at: r.updated_at, items: [] };
    cart.items.push({ sku: r.sku, size: r.size, quantity: r.quantity });
    own.set(r.customer_id, cart);
  }
  for (const [id, cart] of own) {
    const shops = carts.get(id);
    if (!shops || shops.at < cart.at) carts.set(id, cart);
  }

  const due = [...carts].filter(([, cart]) => cart.at <= to && cart.items.length > 0);
  if (due.length === 0) return [];
  const since = due.map(([, c]) => c.at).sort()[0]!;
  const ordered = new Set<string>();
  for (const p of await deps.purchases.placedSince(due.map(([id]) => id), since)) {
    if (p.at >= carts.get(p.customerId)!.at) ordered.add(p.customerId);
  }
  return due
    .filter(([id]) => !ordered.has(id))
    .map(([customerId, cart]) => ({
      trigger: 'abandoned-cart' as const,
      key: `${customerId}|${cart.at}`,
      subject: customerId,
      detail: { customerId, cartUpdatedAt: cart.at, items: cart.items, hours },
    }));
}

/** Every stored customer with a profile that passes the schema, a page at a time. */
async function* storedCustomers(db: Kysely<Database>) {
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('customers').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute();
    const page = rows.flatMap((row) => {
      const profile = storedProfile(toCustomer(row));
      return profile ? [profile] : [];
    });
    yield page;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * Customers whose birthday (or birthday month) it is in their own timezone: the first tick after
 * their local midnight fires, once per year (the cause is customer × local year).
 */
export async function birthdayCauses(at: Date, settings: TriggerSettings['birthday'], deps: Deps): Promise<Cause[]> {
  const out: Cause[] = [];
  for await (const page of storedCustomers(deps.db)) {
    for (const profile of page) {
      if (!profile.birthday) continue;
      const today = localDate(at, profile.timezone);
      if (!isBirthday(profile.birthday, today, settings.at)) continue;
      out.push({
        trigger: 'birthday',
        key: `${profile.id}|${today.slice(0, 4)}`,
        subject: profile.id,
        detail: { customerId: profile.id, localDate: today, timezone: profile.timezone, at: settings.at },
      });
    }
  }
  return out;
}

/**
 * Customers whose last order (the profile's, inboxcart's orders and the shop's order_placed
 * events, whichever is latest) is `atRiskDays` or more ago: the lapse is that last order, so it
 * fires once, and again only after a new order has lapsed in its turn.
 */
export async function winBackCauses(at: Date, atRiskDays: number, deps: Deps): Promise<Cause[]> {
  const out: Cause[] = [];
  const threshold = at.getTime() - atRiskDays * DAY_MS;
  for await (const page of storedCustomers(deps.db)) {
    const known = await deps.purchases.lastOrders(page.map((p) => p.id));
    for (const profile of page) {
      const last = [profile.orders?.lastOrderAt, known.get(profile.id)]
        .filter((v): v is string => Boolean(v))
        .map((v) => new Date(v).toISOString())
        .sort()
        .at(-1);
      if (!last || Date.parse(last) > threshold) continue;
      out.push({
        trigger: 'win-back',
        key: `${profile.id}|${last}`,
        subject: profile.id,
        detail: { customerId: profile.id, lastOrderAt: last, daysWithoutOrder: Math.floor((at.getTime() - Date.parse(last)) / DAY_MS), atRiskDays },
      });
    }
  }
  return out;
}

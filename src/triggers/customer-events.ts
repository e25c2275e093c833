import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sortKeys } from '../channels/whatsapp/content-definitions.ts';
import type { Database } from '../store/database-schema.ts';
import { chunks } from '../store/chunks.ts';
import { fromJsonText, toJsonText } from '../store/json-column.ts';
import { toIsoTimestamp } from '../store/timestamps.ts';
import type { CustomerEvent } from './event-schema.ts';
import type { TriggerTables } from './trigger-tables.ts';

/**
 * Events kept per customer, newest by `occurredAt`: enough for every trigger window (30 days of
 * views, carts, orders) for a very active customer, and a bound on what a noisy sender can store.
 */
export const EVENTS_PER_CUSTOMER = 500;

const IDS_PER_QUERY = 500;

/** The event ids that were sent before with another body: the request is refused as a whole. */
export class EventIdConflict extends Error {
  constructor(readonly ids: string[]) {
    super(`event id(s) used before for another event: ${ids.join(', ')}`);
    this.name = 'EventIdConflict';
  }
}

function bodyHash(event: CustomerEvent): string {
  return createHash('sha256').update(JSON.stringify(sortKeys(event))).digest('hex');
}

const tables = (db: Kysely<Database>) => db.withTables<TriggerTables>();

/**
 * Stores the events in `trx` (one transaction: a conflict anywhere stores nothing). An event
 * id seen before with the same body is a retry and changes nothing; with another body it is a
 * conflict. Each customer's history is then cut to the newest EVENTS_PER_CUSTOMER.
 */
export async function recordCustomerEvents(trx: Kysely<Database>, events: readonly CustomerEvent[], receivedAt: Date): Promise<void> {
  const db = tables(trx);
  const conflicts: string[] = [];
  const touched = new Set<string>();
  for (const event of events) {
    const hash = bodyHash(event);
    const inserted = await db
      .insertInto('customer_events')
      .values({
        event_id: event.id,
        customer_id: event.customerId,
        type: event.type,
        sku: 'sku' in event ? event.sku : null,
        size: 'size' in event ? (event.size ?? null) : null,
        occurred_at: toIsoTimestamp(event.occurredAt),
        data: toJsonText(event),
        body_hash: hash,
        received_at: toIsoTimestamp(receivedAt),
      })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
      touched.add(event.customerId);
      continue;
    }
    const known = await db.selectFrom('customer_events').select('body_hash').where('event_id', '=', event.id).executeTakeFirst();
    // Pruned since (older than the customer's kept history): nothing to compare with, and nothing to store.
    if (known && known.body_hash !== hash) conflicts.push(event.id);
  }
  if (conflicts.length) throw new EventIdConflict(conflicts);
  for (const customerId of touched) {
    const oldestKept = await db
      .selectFrom('customer_events')
      .select('occurred_at')
      .where('customer_id', '=', customerId)
      .orderBy('occurred_at', 'desc')
      .limit(1)
      .offset(EVENTS_PER_CUSTOMER - 1)
      .executeTakeFirst();
    if (oldestKept) await db.deleteFrom('customer_events').where('customer_id', '=', customerId).where('occurred_at', '<', oldestKept.occurred_at).execute();
  }
}

export interface StoredEvent {
  customerId: string;
  type: CustomerEvent['type'];
  sku?: string;
  size?: string;
  occurredAt: string;
  event: CustomerEvent;
}

function toStored(r: TriggerTables['customer_events']): StoredEvent {
  return {
    customerId: r.customer_id,
    type: r.type as CustomerEvent['type'],
    ...(r.sku === null ? {} : { sku: r.sku }),
    ...(r.size === null ? {} : { size: r.size }),
    occurredAt: r.occurred_at,
    event: fromJsonText<CustomerEvent>(r.data),
  };
}

/** Reads of the stored events that the triggers ask. */
export function customerEventQueries(database: Kysely<Database>) {
  const db = tables(database);
  return {
    /** Customers with an event of `types` on `sku` in [from, to], each with the first of them in that range. */
    async firstTouches(sku: string, types: readonly CustomerEvent['type'][], from: string, to: string): Promise<Map<string, string>> {
      const rows = await db
        .selectFrom('customer_events')
        .select(['customer_id', (eb) => eb.fn.min('occurred_at').as('first')])
        .where('sku', '=', sku)
        .where('type', 'in', [...types])
        .where('occurred_at', '>=', from)
        .where('occurred_at', '<=', to)
        .groupBy('customer_id')
        .orderBy('customer_id')
        .execute();
      return new Map(rows.map((r) => [r.customer_id, String(r.first)]));
    },

    /** Customers who asked for `sku` in `size` after `after` and by `to`. */
    async requesters(sku: string, size: string, after: string, to: string): Promise<string[]> {
      const rows = await db
        .selectFrom('customer_events')
        .select('customer_id')
        .distinct()
        .where('sku', '=', sku)
        .where('size', '=', size)
        .where('type', '=', 'back_in_stock_requested')
        .where('occurred_at', '>', after)
        .where('occurred_at', '<=', to)
        .orderBy('customer_id')
        .execute();
      return rows.map((r) => r.customer_id);
    },

    /** The `order_placed` events of these customers since `since`. */
    async ordersSince(customerIds: readonly string[], since: string): Promise<StoredEvent[]> {
      const out: StoredEvent[] = [];
      for (const slice of chunks([...customerIds], IDS_PER_QUERY)) {
        const rows = await db.selectFrom('customer_events').selectAll().where('customer_id', 'in', slice).where('type', '=', 'order_placed').where('occurred_at', '>=', since).execute();
        out.push(...rows.map(toStored));
      }
      return out;
    },

    /** The latest `order_placed` time of each of these customers that has one. */
    async lastOrders(customerIds: readonly string[]): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      for (const slice of chunks([...customerIds], IDS_PER_QUERY)) {
        const rows = await db
          .selectFrom('customer_events')
          .select(['customer_id', (eb) => eb.fn.max('occurred_at').as('last')])
          .where('customer_id', 'in', slice)
          .where('type', '=', 'order_placed')
          .groupBy('customer_id')
          .execute();
        for (const r of rows) out.set(r.customer_id, String(r.last));
      }
      return out;
    },

    /** Each customer's latest `cart_updated` event, for customers whose latest one happened at or after `from`. */
    async latestCarts(from: string): Promise<StoredEvent[]> {
      const latest = await db
        .selectFrom('customer_events')
        .select(['customer_id', (eb) => eb.fn.max('occurred_at').as('at')])
        .where('type', '=', 'cart_updated')
        .where('occurred_at', '>=', from)
        .groupBy('customer_id')
        .execute();
      const out: StoredEvent[] = [];
      for (const r of latest) {
        const at = String(r.at);
        const row = await db
          .selectFrom('customer_events')
          .selectAll()
          .where('customer_id', '=', r.customer_id)
          .where('type', '=', 'cart_updated')
          .where('occurred_at', '=', at)
          .orderBy('event_id', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (row) out.push(toStored(row));
      }
      return out;
    },

    /** Stored events of one customer, newest first (the preview and tests). */
    async ofCustomer(customerId: string, limit = 100): Promise<StoredEvent[]> {
      const rows = await db.selectFrom('customer_events').selectAll().where('customer_id', '=', customerId).orderBy('occurred_at', 'desc').limit(limit).execute();
      return rows.map(toStored);
    },
  };
}

export type CustomerEventQueries = ReturnType<typeof customerEventQueries>;

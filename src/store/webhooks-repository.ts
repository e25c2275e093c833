import { randomUUID } from 'node:crypto';
import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import type { Database, Executor, WebhookDeliveriesTable, WebhookEventsTable } from './database-schema.ts';
import { fromJsonText, toJsonText, type JsonObject } from './json-column.ts';
import { isoNow, systemClock, toIsoTimestamp, type Clock } from './timestamps.ts';
import { inTransaction } from './transactions.ts';

/**
 * The transactional outbox of the shop's webhooks (migration 0007). An event is written in the
 * transaction of the change it reports, with one delivery per configured URL, so a change and
 * its event commit together or not at all; the dispatcher (channels/webhooks) sends the
 * deliveries afterwards, at least once, and a crash in between only delays them.
 */
export const WEBHOOK_EVENT_TYPES = [
  'order.created',
  'order.status_changed',
  'customer.email_unsubscribed',
  'customer.whatsapp_opted_out',
  'customer.preferences_updated',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** What a receiver gets: the body of every delivery of the event. */
export interface WebhookEvent {
  /** `evt_…`, unique: receivers dedupe on it. */
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: JsonObject;
}

export interface NewWebhookEvent {
  type: WebhookEventType;
  data: JsonObject;
  customerId: string;
  /** Events of one order are delivered in the order they were written; without one, those of the customer are. */
  orderId?: string;
}

export interface WebhookDelivery {
  /** `whd_…`. */
  id: string;
  eventId: string;
  eventType: WebhookEventType;
  url: string;
  state: DeliveryState;
  /** Attempts since it was last queued (a manual retry queues it again). */
  attempts: number;
  /** While pending: not tried before this. */
  nextAttemptAt?: string;
  /** While pending: given up (failed) if it has not gone by then. */
  giveUpAt: string;
  lastError?: string;
  /** The receiver's HTTP status at the last attempt, when it answered. */
  lastStatus?: number;
  deliveredAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** A delivery an instance has leased to send. */
export interface ClaimedDelivery {
  id: string;
  url: string;
  attempts: number;
  giveUpAt: string;
  /** Names this claim: only it may record the attempt's outcome. */
  leaseToken: string;
  event: WebhookEvent;
}

export type AttemptOutcome =
  | { state: 'delivered'; status: number }
  | { state: 'failed'; error: string; status?: number }
  | { state: 'pending'; error: string; status?: number; retryAt: Date };

/** Where a delivery stands in the listing (newest event first). */
export interface DeliveryPosition {
  seq: number;
  id: string;
}

export interface WebhooksRepository {
  /**
   * Writes the event and a pending delivery for every URL the store was opened with. Inside
   * `store.transaction` it commits with the caller's change; listeners (`onRecorded`) hear of
   * it once that transaction has committed.
   */
  record(event: NewWebhookEvent): Promise<WebhookEvent>;
  /** Called after each commit that recorded events in this process (the dispatcher sends them at once). */
  onRecorded(listener: () => void): () => void;
  /**
   * Leases up to `limit` deliveries that are due for `leaseMs`: pending, their retry time come,
   * not leased by anyone, and the first pending one of their order (or customer) for their URL,
   * so an order's events reach a receiver in the order they happened. Of several instances,
   * each gets different ones (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer).
   */
  claimDue(limit: number, leaseMs: number, at: Date): Promise<ClaimedDelivery[]>;
  /** Records an attempt's outcome; false when the lease was lost to another instance (nothing written). */
  finish(claim: ClaimedDelivery, outcome: AttemptOutcome, at: Date): Promise<boolean>;
  /**
   * When the next delivery may be claimed: the earliest retry time, or end of a lease, among the
   * deliveries that go next for their order; undefined when none is pending.
   */
  nextAttemptAt(): Promise<Date | undefined>;
  /** Deliveries, newest event first, optionally of one state or event. */
  deliveries(filter: { state?: DeliveryState; eventId?: string; after?: DeliveryPosition; limit: number }): Promise<{ delivery: WebhookDelivery; position: DeliveryPosition }[]>;
  delivery(id: string): Promise<WebhookDelivery | undefined>;
  /**
   * Queues a delivery again, due at once and given up at `giveUpAt`, whatever its state (a
   * delivered one is sent again). `in_flight` while an instance holds it; undefined when unknown.
   */
  retry(id: string, at: Date, giveUpAt: Date): Promise<WebhookDelivery | 'in_flight' | undefined>;
  /** Events of an order or a customer, oldest first (operations and tests). */
  events(filter: { orderId?: string; customerId?: string }): Promise<WebhookEvent[]>;
}

/** A delivery that has not gone within a day of its event (or of a manual retry) is failed. */
export const WEBHOOK_RETRY_FOR_MS = 24 * 3_600_000;

export interface WebhookTargets {
  /** Where every event goes (WEBHOOK_URL). */
  urls: readonly string[];
  listeners: Set<() => void>;
}

/**
 * `onCommit`: inside a transaction, `record` asks for the listeners to be told after its commit
 * (open-store.ts tells them); outside one, they are told at once.
 */
export function createWebhooksRepository(
  db: Executor,
  dialect: 'sqlite' | 'postgres',
  targets: WebhookTargets,
  clock: Clock = systemClock,
  onCommit?: () => void,
): WebhooksRepository {
  const notify = () => {
    for (const listener of targets.listeners) listener();
  };

  async function delivery(id: string): Promise<WebhookDelivery | undefined> {
    const row = await db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as e', 'e.seq', 'd.event_seq')
      .selectAll('d')
      .select(['e.id as event_id', 'e.type as event_type'])
      .where('d.id', '=', id)
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  return {
    async record(event) {
      const createdAt = isoNow(clock);
      const stored = await inTransaction(db, async (trx) => {
        const id = `evt_${randomUUID().replaceAll('-', '')}`;
        const orderingKey = event.orderId === undefined ? `customer:${event.customerId}` : `order:${event.orderId}`;
        const { seq } = await trx
          .insertInto('webhook_events')
          .values({ id, type: event.type, ordering_key: orderingKey, order_id: event.orderId ?? null, customer_id: event.customerId, data: toJsonText(event.data), created_at: createdAt })
          .returning('seq')
          .executeTakeFirstOrThrow();
        const giveUpAt = new Date(Date.parse(createdAt) + WEBHOOK_RETRY_FOR_MS).toISOString();
        if (targets.urls.length > 0) {
          await trx
            .insertInto('webhook_deliveries')
            .values(
              [...new Set(targets.urls)].map((url) => ({
                id: `whd_${randomUUID().replaceAll('-', '')}`,
                event_seq: Number(seq),
                ordering_key: orderingKey,
                url,
                state: 'pending',
                attempts: 0,
                next_attempt_at: createdAt,
                give_up_at: giveUpAt,
                claimed_until: null,
                lease_token: null,
                last_error: null,
                last_status: null,
                delivered_at: null,
                created_at: createdAt,
                updated_at: createdAt,
              })),
            )
            .execute();
        }
        return { id, type: event.type, createdAt, data: event.data };
      });
      if (targets.urls.length > 0) {
        if (db.isTransaction && onCommit) onCommit();
        else if (!db.isTransaction) notify();
      }
      return stored;
    },

    onRecorded(listener) {
      targets.listeners.add(listener);
      return () => targets.listeners.delete(listener);
    },

    async claimDue(limit, leaseMs, at) {
      const now = toIsoTimestamp(at);
      const leaseToken = randomUUID();
      let due = db
        .selectFrom('webhook_deliveries as d')
        .select('d.id')
        .where('d.state', '=', 'pending')
        .where('d.next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<', now)]))
        .where(firstOfChain)
        .orderBy('d.event_seq')
        .limit(limit);
      if (dialect === 'postgres') due = due.forUpdate('d').skipLocked();
      const claimed = await db
        .updateTable('webhook_deliveries')
        .set({ claimed_until: new Date(Date.parse(now) + leaseMs).toISOString(), lease_token: leaseToken, updated_at: now })
        .where('id', 'in', due)
        .returning(['id', 'url', 'attempts', 'give_up_at', 'event_seq'])
        .execute();
      if (claimed.length === 0) return [];
      const events = await db.selectFrom('webhook_events').selectAll().where('seq', 'in', [...new Set(claimed.map((c) => Number(c.event_seq)))]).execute();
      const bySeq = new Map(events.map((e) => [Number(e.seq), toEvent(e)]));
      return claimed
        .sort((a, b) => Number(a.event_seq) - Number(b.event_seq))
        .map((c) => ({ id: c.id, url: c.url, attempts: Number(c.attempts), giveUpAt: c.give_up_at, leaseToken, event: bySeq.get(Number(c.event_seq))! }));
    },

    async finish(claim, outcome, at) {
      const now = toIsoTimestamp(at);
      const result = await db
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          state: outcome.state,
          attempts: eb('attempts', '+', 1),
          claimed_until: null,
          lease_token: null,
          last_status: outcome.status ?? null,
          last_error: outcome.state === 'delivered' ? null : outcome.error,
          ...(outcome.state === 'pending' ? { next_attempt_at: toIsoTimestamp(outcome.retryAt) } : {}),
          ...(outcome.state === 'delivered' ? { delivered_at: now } : {}),
          updated_at: now,
        }))
        .where('id', '=', claim.id)
        .where('lease_token', '=', claim.leaseToken)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async nextAttemptAt() {
      // A leased one may go again once its lease runs out (its instance may have died).
      const readyAt = sql<string>`case when d.claimed_until is not null and d.claimed_until > d.next_attempt_at then d.claimed_until else d.next_attempt_at end`;
      const row = await db
        .selectFrom('webhook_deliveries as d')
        .select(readyAt.as('ready_at'))
        .where('d.state', '=', 'pending')
        .where(firstOfChain)
        .orderBy('ready_at')
        .limit(1)
        .executeTakeFirst();
      return row ? new Date(row.ready_at) : undefined;
    },

    async deliveries({ state, eventId, after, limit }) {
      let query = db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.seq', 'd.event_seq')
        .selectAll('d')
        .select(['e.id as event_id', 'e.type as event_type']);
      if (state) query = query.where('d.state', '=', state);
      if (eventId) query = query.where('e.id', '=', eventId);
      if (after) query = query.where((eb) => eb.or([eb('d.event_seq', '<', after.seq), eb.and([eb('d.event_seq', '=', after.seq), eb('d.id', '>', after.id)])]));
      const rows = await query.orderBy('d.event_seq', 'desc').orderBy('d.id').limit(limit).execute();
      return rows.map((r) => ({ delivery: toDelivery(r), position: { seq: Number(r.event_seq), id: r.id } }));
    },

    delivery,

    async retry(id, at, giveUpAt) {
      const now = toIsoTimestamp(at);
      const queued = await db
        .updateTable('webhook_deliveries')
        .set({ state: 'pending', attempts: 0, next_attempt_at: now, give_up_at: toIsoTimestamp(giveUpAt), claimed_until: null, lease_token: null, updated_at: now })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('state', '!=', 'pending'), eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .executeTakeFirst();
      const found = await delivery(id);
      if (!found) return undefined;
      if (queued.numUpdatedRows === 0n) return 'in_flight';
      notify();
      return found;
    },

    async events({ orderId, customerId }) {
      let query = db.selectFrom('webhook_events').selectAll();
      if (orderId !== undefined) query = query.where('order_id', '=', orderId);
      if (customerId !== undefined) query = query.where('customer_id', '=', customerId);
      return (await query.orderBy('seq').execute()).map(toEvent);
    },
  };
}

/** No earlier event of the same order (or customer) is still pending for the same URL. */
function firstOfChain(eb: ExpressionBuilder<Database & { d: WebhookDeliveriesTable }, 'd'>) {
  return eb.not(
    eb.exists(
      eb
        .selectFrom('webhook_deliveries as e')
        .select('e.id')
        .whereRef('e.ordering_key', '=', 'd.ordering_key')
        .whereRef('e.url', '=', 'd.url')
        .whereRef('e.event_seq', '<', 'd.event_seq')
        .where('e.state', '=', 'pending'),
    ),
  );
}

function toEvent(row: Selectable<WebhookEventsTable>): WebhookEvent {
  return { id: row.id, type: row.type as WebhookEventType, createdAt: row.created_at, data: fromJsonText<JsonObject>(row.data) };
}

function toDelivery(row: Selectable<WebhookDeliveriesTable> & { event_id: string; event_type: string }): WebhookDelivery {
  const pending = row.state === 'pending';
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type as WebhookEventType,
    url: row.url,
    state: row.state as DeliveryState,
    attempts: Number(row.attempts),
    ...(pending ? { nextAttemptAt: row.next_attempt_at } : {}),
    giveUpAt: row.give_up_at,
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.last_status === null ? {} : { lastStatus: Number(row.last_status) }),
    ...(row.delivered_at === null ? {} : { deliveredAt: row.delivered_at }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

import type { Executor } from './database-schema.ts';
import { fromJsonText, toJsonText, type JsonObject } from './json-column.ts';
import { toIsoTimestamp } from './timestamps.ts';

/**
 * The durable queue of WhatsApp replies (migration 0003). Delivery is at least once: a reply
 * is queued before the webhook that caused it is answered and leaves the queue only when Twilio
 * has taken it, so a crash between the two sends it again rather than never.
 */
export interface QueuedReply {
  eventKey: string;
  seq: number;
  customerId?: string;
  /** Twilio `messages.create` parameters. */
  message: JsonObject;
  /** What the sender needs besides the message (kind, template, the window's last inbound time). */
  meta: JsonObject;
  attempts: number;
}

/**
 * Every method takes `at`, the caller's clock: leases and retry times are judged against the
 * service's (injectable) clock, never the database's or the wall clock, so all of them agree.
 */
export interface WhatsappRepliesRepository {
  /** Queues an inbound message's replies in order; queuing the same event again changes nothing. */
  enqueue(eventKey: string, replies: readonly { customerId?: string; message: JsonObject; meta: JsonObject }[], at: Date): Promise<void>;
  /**
   * Takes the lease on an event's queued replies (for `leaseMs`) and returns them in order; empty
   * when another instance holds them, they are backing off until a later retry time, or nothing
   * is queued.
   */
  claim(eventKey: string, leaseMs: number, at: Date): Promise<QueuedReply[]>;
  /**
   * Events with replies queued for at least `olderThanMs` whose lease (if any) has run out and
   * whose retry time (if any) has come.
   */
  due(olderThanMs: number, limit: number, at: Date): Promise<string[]>;
  /** Twilio took it: the reply leaves the queue. */
  sent(eventKey: string, seq: number, at: Date): Promise<void>;
  /** It will never go (refused, or out of attempts): kept with the reason, out of the queue. */
  failed(eventKey: string, seq: number, error: string, at: Date): Promise<void>;
  /**
   * It may go later: back in the queue with one attempt more and the reason, not due before
   * `retryAt`. The event's later replies wait as long, so the chat keeps its order.
   */
  retryLater(eventKey: string, seq: number, error: string, retryAt: Date, at: Date): Promise<void>;
  /** Replies still queued (for operations and tests). */
  queued(): Promise<QueuedReply[]>;
}

export function createWhatsappRepliesRepository(db: Executor): WhatsappRepliesRepository {
  const finish = (eventKey: string, seq: number, status: 'sent' | 'failed' | 'queued', error: string | null, at: Date) =>
    db
      .updateTable('whatsapp_replies')
      .set((eb) => ({ status, last_error: error, claimed_until: null, updated_at: toIsoTimestamp(at), attempts: eb('attempts', '+', 1) }))
      .where('event_key', '=', eventKey)
      .where('seq', '=', seq)
      .execute();

  return {
    async enqueue(eventKey, replies, at) {
      if (replies.length === 0) return;
      const now = toIsoTimestamp(at);
      await db
        .insertInto('whatsapp_replies')
        .values(
          replies.map((r, seq) => ({
            event_key: eventKey,
            seq,
            customer_id: r.customerId ?? null,
            message: toJsonText(r.message),
            meta: toJsonText(r.meta),
            status: 'queued',
            attempts: 0,
            claimed_until: null,
            last_error: null,
            next_attempt_at: null,
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) => oc.columns(['event_key', 'seq']).doNothing())
        .execute();
    },

    async claim(eventKey, leaseMs, at) {
      const now = toIsoTimestamp(at);
      // One conditional update takes every queued reply of the event whose lease is free: of
      // two instances racing, the second updates nothing.
      const taken = await db
        .updateTable('whatsapp_replies')
        .set({ claimed_until: new Date(Date.parse(now) + leaseMs).toISOString(), updated_at: now })
        .where('event_key', '=', eventKey)
        .where('status', '=', 'queued')
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
        .executeTakeFirst();
      if (taken.numUpdatedRows === 0n) return [];
      const rows = await db.selectFrom('whatsapp_replies').selectAll().where('event_key', '=', eventKey).where('status', '=', 'queued').orderBy('seq').execute();
      return rows.map(toQueued);
    },

    async due(olderThanMs, limit, at) {
      const now = toIsoTimestamp(at);
      const rows = await db
        .selectFrom('whatsapp_replies')
        .select('event_key')
        .distinct()
        .where('status', '=', 'queued')
        .where('created_at', '<', new Date(Date.parse(now) - olderThanMs).toISOString())
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
        .orderBy('event_key')
        .limit(limit)
        .execute();
      return rows.map((r) => r.event_key);
    },

    async sent(eventKey, seq, at) {
      await finish(eventKey, seq, 'sent', null, at);
    },

    async failed(eventKey, seq, error, at) {
      await finish(eventKey, seq, 'failed', error, at);
    },

    async retryLater(eventKey, seq, error, retryAt, at) {
      // The retry time and the end of the lease are one update, so no recovery pass can take
      // the event in between; all its queued replies wait, so the chat keeps its order.
      await db
        .updateTable('whatsapp_replies')
        .set({ next_attempt_at: toIsoTimestamp(retryAt), claimed_until: null, updated_at: toIsoTimestamp(at) })
        .where('event_key', '=', eventKey)
        .where('status', '=', 'queued')
        .execute();
      await finish(eventKey, seq, 'queued', error, at);
    },

    async queued() {
      const rows = await db.selectFrom('whatsapp_replies').selectAll().where('status', '=', 'queued').orderBy('event_key').orderBy('seq').execute();
      return rows.map(toQueued);
    },
  };
}

function toQueued(row: { event_key: string; seq: number; customer_id: string | null; message: string; meta: string; attempts: number }): QueuedReply {
  return {
    eventKey: row.event_key,
    seq: Number(row.seq),
    ...(row.customer_id === null ? {} : { customerId: row.customer_id }),
    message: fromJsonText<JsonObject>(row.message),
    meta: fromJsonText<JsonObject>(row.meta),
    attempts: Number(row.attempts),
  };
}

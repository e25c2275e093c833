import type { Executor } from './database-schema.ts';
import { fromNullableJsonText, toJsonText, type JsonValue } from './json-column.ts';
import { isoNow, systemClock, type Clock } from './timestamps.ts';

/**
 * Webhook idempotency. Providers retry (Twilio on timeouts, mail clients on flaky networks),
 * so each delivery is claimed by its key before it has effects.
 */
export interface ProcessedEvent {
  key: string;
  kind: string;
  status: 'pending' | 'completed';
  result?: JsonValue;
  createdAt: string;
  completedAt?: string;
}

export interface EventsRepository {
  /**
   * True for the first claim of `key`; false if anyone (any instance) claimed it before and
   * either completed it or still holds it. A pending claim older than `leaseMs` (its handler
   * crashed or its process died) can be taken over, so the provider's next retry is processed.
   */
  claim(key: string, kind: string, leaseMs?: number): Promise<boolean>;
  /**
   * Claims `key` for a handler that completes it in the same transaction as its effects: call
   * it inside `store.transaction`. A crash or a throw then leaves no claim at all, so a claim
   * others can see is a completed one, and the provider's retry of an event that was never
   * committed is processed in full, however soon it comes. A concurrent claim of the same key
   * waits for the first transaction to end (PostgreSQL: on the key's unique index; SQLite:
   * transactions are serialised) and then finds it completed, or claims it if the first rolled
   * back. A pending claim was left by `claim` outside a transaction (an older version that
   * died mid-way) and is taken over at once: nothing of it was completed.
   */
  claimInTransaction(key: string, kind: string): Promise<boolean>;
  /** Stores what the handler produced, so a retry can answer the same way. */
  complete(key: string, result: JsonValue): Promise<void>;
  /**
   * Gives up a claim whose handling failed before completing, so the provider's retry is
   * processed instead of being dropped as a duplicate. Completed events stay.
   */
  release(key: string): Promise<void>;
  get(key: string): Promise<ProcessedEvent | undefined>;
}

/** Longer than a webhook may take (Twilio gives up after 15 s), short enough for its retries. */
const DEFAULT_LEASE_MS = 30_000;

export function createEventsRepository(db: Executor, clock: Clock = systemClock): EventsRepository {
  return {
    async claim(key, kind, leaseMs = DEFAULT_LEASE_MS) {
      const now = isoNow(clock);
      const inserted = await db
        .insertInto('processed_events')
        .values({ key, kind, status: 'pending', result: null, created_at: now, completed_at: null })
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted !== undefined) return true;
      // One conditional update: of several retries racing for a stale claim, one wins.
      const takenOver = await db
        .updateTable('processed_events')
        .set({ created_at: now })
        .where('key', '=', key)
        .where('status', '=', 'pending')
        .where('created_at', '<', new Date(Date.parse(now) - leaseMs).toISOString())
        .executeTakeFirst();
      return takenOver.numUpdatedRows > 0n;
    },

    async claimInTransaction(key, kind) {
      const now = isoNow(clock);
      const claimed = await db
        .insertInto('processed_events')
        .values({ key, kind, status: 'pending', result: null, created_at: now, completed_at: null })
        .onConflict((oc) => oc.column('key').doUpdateSet({ kind, created_at: now }).where('processed_events.status', '=', 'pending'))
        .returning('key')
        .executeTakeFirst();
      return claimed !== undefined;
    },

    async complete(key, result) {
      const updated = await db
        .updateTable('processed_events')
        .set({ status: 'completed', result: toJsonText(result), completed_at: isoNow(clock) })
        .where('key', '=', key)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) throw new Error(`event ${key} was never claimed`);
    },

    async release(key) {
      await db.deleteFrom('processed_events').where('key', '=', key).where('status', '=', 'pending').execute();
    },

    async get(key) {
      const row = await db.selectFrom('processed_events').selectAll().where('key', '=', key).executeTakeFirst();
      if (!row) return undefined;
      const result = fromNullableJsonText<JsonValue>(row.result);
      return {
        key: row.key,
        kind: row.kind,
        status: row.status as ProcessedEvent['status'],
        ...(result === undefined ? {} : { result }),
        createdAt: row.created_at,
        ...(row.completed_at === null ? {} : { completedAt: row.completed_at }),
      };
    },
  };
}

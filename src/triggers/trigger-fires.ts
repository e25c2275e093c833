import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import { fromJsonText, toJsonText, type JsonObject } from '../store/json-column.ts';
import { toIsoTimestamp } from '../store/timestamps.ts';
import type { TriggerName } from './trigger-config.ts';
import type { TriggerTables } from './trigger-tables.ts';

/** What made a trigger fire: the key that makes it fire once, what it is about, and the facts the runs show. */
export interface Cause {
  trigger: TriggerName;
  /** Unique per trigger: the same cause seen again (a retried write, the next tick) adds nothing. */
  key: string;
  subject: string;
  detail: JsonObject;
}

export interface Fire {
  id: string;
  trigger: TriggerName;
  causeKey: string;
  subject: string;
  cause: JsonObject;
  status: 'pending' | 'dispatched';
  campaignIds: string[];
  recipients: number;
  firedAt: string;
  dispatchedAt?: string;
}

/**
 * Fire ids become campaign ids (`trg.<fire>.<channel>`): deterministic, so dispatching a fire
 * twice (a crash before it was marked, two instances at once) finds its campaigns made.
 */
export function fireId(trigger: TriggerName, causeKey: string): string {
  return `${trigger}.${createHash('sha256').update(`${trigger}\u0000${causeKey}`).digest('hex').slice(0, 20)}`;
}

function toFire(r: TriggerTables['trigger_fires']): Fire {
  return {
    id: r.id,
    trigger: r.trigger as TriggerName,
    causeKey: r.cause_key,
    subject: r.subject,
    cause: fromJsonText<JsonObject>(r.cause),
    status: r.status as Fire['status'],
    campaignIds: fromJsonText<string[]>(r.campaign_ids),
    recipients: r.recipients,
    firedAt: r.fired_at,
    ...(r.dispatched_at === null ? {} : { dispatchedAt: r.dispatched_at }),
  };
}

/** The trigger_fires table: the outbox of what is to be notified, and the record of what was. */
export function triggerFires(database: Kysely<Database>) {
  const db = database.withTables<TriggerTables>();
  return {
    /**
     * Records the cause as pending, in the caller's transaction when `database` is one (the
     * catalog write's). False when it fired before: the unique (trigger, cause_key) decides,
     * on both dialects, also between two instances writing at once.
     */
    async record(cause: Cause, at: Date): Promise<boolean> {
      const inserted = await db
        .insertInto('trigger_fires')
        .values({
          id: fireId(cause.trigger, cause.key),
          trigger: cause.trigger,
          cause_key: cause.key,
          subject: cause.subject,
          cause: toJsonText(cause.detail),
          status: 'pending',
          campaign_ids: '[]',
          recipients: 0,
          fired_at: toIsoTimestamp(at),
          dispatched_at: null,
        })
        .onConflict((oc) => oc.columns(['trigger', 'cause_key']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async pending(limit: number): Promise<Fire[]> {
      const rows = await db.selectFrom('trigger_fires').selectAll().where('status', '=', 'pending').orderBy('fired_at').orderBy('id').limit(limit).execute();
      return rows.map(toFire);
    },

    async markDispatched(id: string, campaignIds: readonly string[], recipients: number, at: Date): Promise<void> {
      await db
        .updateTable('trigger_fires')
        .set({ status: 'dispatched', campaign_ids: toJsonText(campaignIds), recipients, dispatched_at: toIsoTimestamp(at) })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .execute();
    },

    /** The latest fire of `trigger` about `subject` before `before`: where the next one's window starts. */
    async previous(trigger: TriggerName, subject: string, before: string): Promise<Fire | undefined> {
      const row = await db
        .selectFrom('trigger_fires')
        .selectAll()
        .where('trigger', '=', trigger)
        .where('subject', '=', subject)
        .where('fired_at', '<', before)
        .orderBy('fired_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toFire(row);
    },

    /** A trigger's fires, newest first. */
    async list(trigger: TriggerName, limit: number): Promise<Fire[]> {
      const rows = await db.selectFrom('trigger_fires').selectAll().where('trigger', '=', trigger).orderBy('fired_at', 'desc').orderBy('id').limit(limit).execute();
      return rows.map(toFire);
    },
  };
}

export type TriggerFires = ReturnType<typeof triggerFires>;

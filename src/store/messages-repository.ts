import type { Selectable } from 'kysely';
import type { Executor, WhatsappMessagesTable } from './database-schema.ts';
import { isoNow, toIsoTimestamp, systemClock, type Clock } from './timestamps.ts';

/** Twilio message statuses for outbound messages. */
export type MessageStatus =
  | 'scheduled'
  | 'accepted'
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'read'
  | 'failed'
  | 'undelivered'
  | 'canceled';

/** Progress order of the non-final statuses; callbacks may arrive out of this order. */
const PROGRESS: readonly MessageStatus[] = ['scheduled', 'accepted', 'queued', 'sending', 'sent', 'delivered', 'read'];
const FAILURES: readonly MessageStatus[] = ['failed', 'undelivered', 'canceled'];
/** A message that reached the phone cannot fail afterwards; a late failure callback is stale. */
const REACHED: readonly MessageStatus[] = ['delivered', 'read'];

export const MESSAGE_STATUSES: readonly MessageStatus[] = [...PROGRESS, ...FAILURES];

export interface OutboundMessage {
  /** Twilio's message SID. */
  sid: string;
  customerId?: string;
  /** Stored in full; masking is the logger's job. */
  to: string;
  /** What was sent: a session reply, a template, an order confirmation… */
  kind: string;
  template?: string;
  status: MessageStatus;
}

export interface StoredMessage {
  sid: string;
  customerId?: string;
  to?: string;
  kind?: string;
  template?: string;
  status: MessageStatus;
  errorCode?: string;
  statusAt: string;
  createdAt: string;
}

export interface MessagesRepository {
  /**
   * Records a message just handed to Twilio. Its status callback can beat this write; then
   * the row exists already, its details are filled in and its status kept if further along.
   */
  recordOutbound(message: OutboundMessage): Promise<void>;
  /**
   * Applies a status callback unless it would move the message backwards. Order:
   * queued < sending < sent < delivered < read; failed / undelivered / canceled are final and
   * are recorded (with the error code) from any status before delivered. Returns whether the
   * status was applied. An unknown sid is recorded, since the callback may precede
   * `recordOutbound`.
   */
  updateStatus(sid: string, status: MessageStatus, errorCode: string | undefined, at: Date | string): Promise<boolean>;
  get(sid: string): Promise<StoredMessage | undefined>;
}

/** Statuses a message may be in for `next` to replace it. */
function replaceable(next: MessageStatus): MessageStatus[] {
  if (FAILURES.includes(next)) return PROGRESS.filter((s) => !REACHED.includes(s));
  const rank = PROGRESS.indexOf(next);
  if (rank < 0) throw new RangeError(`unknown message status ${next}`);
  return PROGRESS.slice(0, rank);
}

export function createMessagesRepository(db: Executor, clock: Clock = systemClock): MessagesRepository {
  async function updateStatus(
    sid: string,
    status: MessageStatus,
    errorCode: string | undefined,
    at: Date | string,
  ): Promise<boolean> {
    const from = replaceable(status);
    const statusAt = toIsoTimestamp(at);
    const now = isoNow(clock);
    // A compare-and-set in one statement: concurrent callbacks for one sid cannot interleave
    // a read and a write and so cannot step the status back.
    if (from.length > 0) {
      const updated = await db
        .updateTable('whatsapp_messages')
        .set({ status, error_code: errorCode ?? null, status_at: statusAt, updated_at: now })
        .where('sid', '=', sid)
        .where('status', 'in', from)
        .executeTakeFirst();
      if (updated.numUpdatedRows > 0n) return true;
    }
    const inserted = await db
      .insertInto('whatsapp_messages')
      .values({
        sid,
        customer_id: null,
        to_address: null,
        kind: null,
        template: null,
        status,
        error_code: errorCode ?? null,
        status_at: statusAt,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('sid').doNothing())
      .returning('sid')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  return {
    async recordOutbound(m) {
      if (!MESSAGE_STATUSES.includes(m.status)) throw new RangeError(`unknown message status ${m.status}`);
      const now = isoNow(clock);
      const inserted = await db
        .insertInto('whatsapp_messages')
        .values({
          sid: m.sid,
          customer_id: m.customerId ?? null,
          to_address: m.to,
          kind: m.kind,
          template: m.template ?? null,
          status: m.status,
          error_code: null,
          status_at: now,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.column('sid').doUpdateSet((eb) => ({
            customer_id: eb.ref('excluded.customer_id'),
            to_address: eb.ref('excluded.to_address'),
            kind: eb.ref('excluded.kind'),
            template: eb.ref('excluded.template'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .returning('status')
        .executeTakeFirst();
      // The row came from an earlier callback: let the status move forward if ours is newer.
      if (inserted && inserted.status !== m.status) await updateStatus(m.sid, m.status, undefined, now);
    },

    updateStatus,

    async get(sid) {
      const row = await db.selectFrom('whatsapp_messages').selectAll().where('sid', '=', sid).executeTakeFirst();
      return row && toMessage(row);
    },
  };
}

function toMessage(row: Selectable<WhatsappMessagesTable>): StoredMessage {
  return {
    sid: row.sid,
    ...(row.customer_id === null ? {} : { customerId: row.customer_id }),
    ...(row.to_address === null ? {} : { to: row.to_address }),
    ...(row.kind === null ? {} : { kind: row.kind }),
    ...(row.template === null ? {} : { template: row.template }),
    status: row.status as MessageStatus,
    ...(row.error_code === null ? {} : { errorCode: row.error_code }),
    statusAt: row.status_at,
    createdAt: row.created_at,
  };
}

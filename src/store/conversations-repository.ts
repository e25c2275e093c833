import type { Selectable } from 'kysely';
import type { Executor, WhatsappConversationsTable } from './database-schema.ts';
import { fromJsonText, toJsonText, type JsonObject } from './json-column.ts';
import { isoNow, toIsoTimestamp, systemClock, type Clock } from './timestamps.ts';

/** Where a customer is in the WhatsApp purchase flow. One per customer, not per channel. */
export interface Conversation {
  customerId: string;
  phone: string;
  /** What the flow has collected so far (offer, sku, size, quantity…). */
  state: JsonObject;
  step: string;
  locale: string;
  updatedAt: string;
  expiresAt: string;
  /** Bumped by every save; 0 means "never saved". */
  version: number;
}

export type ConversationInput = Omit<Conversation, 'version' | 'updatedAt'> & { updatedAt?: string };

export interface ConversationsRepository {
  /** The stored conversation, expired or not: the caller decides what an old one means. */
  get(customerId: string): Promise<Conversation | undefined>;
  /**
   * Saves if the stored version is still `expectedVersion` (0: none stored yet) and stores
   * `expectedVersion + 1`. False means another webhook saved in between: reload and redo.
   * Twilio may deliver two replies of one customer to two instances at once; without this
   * the later write would silently undo the earlier step.
   */
  save(conversation: ConversationInput, expectedVersion: number): Promise<boolean>;
  /** Removes a conversation, e.g. when the customer sends STOP. */
  delete(customerId: string): Promise<void>;
  /** Removes conversations whose expiresAt is before `now`; returns how many. */
  deleteExpired(now: Date | string): Promise<number>;
}

export function createConversationsRepository(db: Executor, clock: Clock = systemClock): ConversationsRepository {
  return {
    async get(customerId) {
      const row = await db
        .selectFrom('whatsapp_conversations')
        .selectAll()
        .where('customer_id', '=', customerId)
        .executeTakeFirst();
      return row && toConversation(row);
    },

    async save(conv, expectedVersion) {
      if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
        throw new RangeError(`expectedVersion must be a non-negative integer, got ${expectedVersion}`);
      }
      const values = {
        phone: conv.phone,
        state: toJsonText(conv.state),
        step: conv.step,
        locale: conv.locale,
        updated_at: conv.updatedAt === undefined ? isoNow(clock) : toIsoTimestamp(conv.updatedAt),
        expires_at: toIsoTimestamp(conv.expiresAt),
        version: expectedVersion + 1,
      };
      if (expectedVersion === 0) {
        const inserted = await db
          .insertInto('whatsapp_conversations')
          .values({ customer_id: conv.customerId, ...values })
          .onConflict((oc) => oc.column('customer_id').doNothing())
          .returning('customer_id')
          .executeTakeFirst();
        return inserted !== undefined;
      }
      const result = await db
        .updateTable('whatsapp_conversations')
        .set(values)
        .where('customer_id', '=', conv.customerId)
        .where('version', '=', expectedVersion)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async delete(customerId) {
      await db.deleteFrom('whatsapp_conversations').where('customer_id', '=', customerId).execute();
    },

    async deleteExpired(now) {
      const result = await db
        .deleteFrom('whatsapp_conversations')
        .where('expires_at', '<', toIsoTimestamp(now))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function toConversation(row: Selectable<WhatsappConversationsTable>): Conversation {
  return {
    customerId: row.customer_id,
    phone: row.phone,
    state: fromJsonText<JsonObject>(row.state),
    step: row.step,
    locale: row.locale,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    version: row.version,
  };
}

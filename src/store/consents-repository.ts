import type { Executor } from './database-schema.ts';
import { isoNow, systemClock, type Clock } from './timestamps.ts';

export type ConsentChannel = 'email' | 'whatsapp' | 'sms';

export interface Consent {
  granted: boolean;
  /** Where the decision came from: 'whatsapp:STOP', 'amp:preferences', 'api'… kept for audits. */
  source: string;
  updatedAt: string;
}

/**
 * Consent decisions made through inboxcart itself (STOP/START on WhatsApp, unsubscribe in an
 * email). They override what a campaign system's profile says, which may be stale.
 */
export interface ConsentsRepository {
  set(customerId: string, channel: ConsentChannel, granted: boolean, source: string): Promise<void>;
  get(customerId: string, channel: ConsentChannel): Promise<Consent | undefined>;
  /** True only after an explicit opt-out; no record means no decision was made here. */
  isOptedOut(customerId: string, channel: ConsentChannel): Promise<boolean>;
  /** The channels a customer explicitly opted out of, in one query (a render checks several). */
  optedOutChannels(customerId: string): Promise<ReadonlySet<ConsentChannel>>;
  /** Every decision recorded for a customer, by channel. */
  list(customerId: string): Promise<Partial<Record<ConsentChannel, Consent>>>;
}

export function createConsentsRepository(db: Executor, clock: Clock = systemClock): ConsentsRepository {
  async function get(customerId: string, channel: ConsentChannel): Promise<Consent | undefined> {
    const row = await db
      .selectFrom('consents')
      .select(['granted', 'source', 'updated_at'])
      .where('customer_id', '=', customerId)
      .where('channel', '=', channel)
      .executeTakeFirst();
    return row && { granted: row.granted === 1, source: row.source, updatedAt: row.updated_at };
  }

  return {
    async set(customerId, channel, granted, source) {
      const now = isoNow(clock);
      await db
        .insertInto('consents')
        .values({ customer_id: customerId, channel, granted: granted ? 1 : 0, source, updated_at: now })
        .onConflict((oc) =>
          oc.columns(['customer_id', 'channel']).doUpdateSet((eb) => ({
            granted: eb.ref('excluded.granted'),
            source: eb.ref('excluded.source'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },

    get,

    async isOptedOut(customerId, channel) {
      const consent = await get(customerId, channel);
      return consent !== undefined && !consent.granted;
    },

    async optedOutChannels(customerId) {
      const rows = await db.selectFrom('consents').select('channel').where('customer_id', '=', customerId).where('granted', '=', 0).execute();
      return new Set(rows.map((r) => r.channel as ConsentChannel));
    },

    async list(customerId) {
      const rows = await db.selectFrom('consents').select(['channel', 'granted', 'source', 'updated_at']).where('customer_id', '=', customerId).execute();
      const out: Partial<Record<ConsentChannel, Consent>> = {};
      for (const r of rows) out[r.channel as ConsentChannel] = { granted: r.granted === 1, source: r.source, updatedAt: r.updated_at };
      return out;
    },
  };
}

import type { Selectable } from 'kysely';
import type { CustomersTable, Executor } from './database-schema.ts';
import { fromJsonText, fromNullableJsonText, toJsonText } from './json-column.ts';
import { minorDigits } from '../commerce/money.ts';
import { isoNow, toIsoTimestamp, systemClock, type Clock } from './timestamps.ts';

export interface Address {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface PaymentMethod {
  type: string;
  last4: string;
  /** The payment provider's token, never a card number. */
  token: string;
}

export interface Customer {
  id: string;
  email?: string;
  /** E.164, e.g. +46701234567. */
  phone?: string;
  locale: string;
  currency: string;
  timezone: string;
  /** The profile as the campaign system sent it (JSON; undefined fields are dropped). */
  profile: Record<string, unknown>;
  address?: Address;
  paymentMethod?: PaymentMethod;
  /** When the customer last wrote to us on WhatsApp: opens the 24-hour service window. */
  lastInboundAt?: string;
}

export type PreferenceValue = string | string[];

export interface CustomersRepository {
  /**
   * Stores the customer, replacing every field given by the profile source. `lastInboundAt`
   * is kept when absent: it is tracked from WhatsApp webhooks, not sent by campaign systems.
   */
  upsert(customer: Customer): Promise<void>;
  get(id: string): Promise<Customer | undefined>;
  /** The most recently updated customer with that phone (duplicates happen in CDP data). */
  findByPhone(phone: string): Promise<Customer | undefined>;
  /** Moves the window forward only, so a late, out-of-order webhook cannot shorten it. */
  setLastInboundAt(id: string, at: Date | string): Promise<void>;
  /** Merges zero-party answers (quiz, survey) into the stored ones; keys not given are kept. */
  setPreferences(id: string, prefs: Record<string, PreferenceValue>): Promise<void>;
  getPreferences(id: string): Promise<Record<string, PreferenceValue>>;
}

const E164 = /^\+[1-9]\d{6,14}$/;

export function createCustomersRepository(db: Executor, clock: Clock = systemClock): CustomersRepository {
  async function getWhere(column: 'id' | 'phone', value: string): Promise<Customer | undefined> {
    const row = await db
      .selectFrom('customers')
      .selectAll()
      .where(column, '=', value)
      .orderBy('updated_at', 'desc')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row && toCustomer(row);
  }

  return {
    async upsert(c) {
      if (c.id.length === 0) throw new RangeError('customer id must not be empty');
      if (c.phone !== undefined && !E164.test(c.phone)) {
        throw new RangeError(`phone must be E.164, e.g. +46701234567, got ${JSON.stringify(c.phone)}`);
      }
      minorDigits(c.currency);
      const now = isoNow(clock);
      const row: CustomersTable = {
        id: c.id,
        email: c.email ?? null,
        phone: c.phone ?? null,
        locale: c.locale,
        currency: c.currency,
        timezone: c.timezone,
        profile: toJsonText(c.profile),
        address: c.address === undefined ? null : toJsonText(c.address),
        payment_method: c.paymentMethod === undefined ? null : toJsonText(c.paymentMethod),
        last_inbound_at: c.lastInboundAt === undefined ? null : toIsoTimestamp(c.lastInboundAt),
        created_at: now,
        updated_at: now,
      };
      await db
        .insertInto('customers')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            email: eb.ref('excluded.email'),
            phone: eb.ref('excluded.phone'),
            locale: eb.ref('excluded.locale'),
            currency: eb.ref('excluded.currency'),
            timezone: eb.ref('excluded.timezone'),
            profile: eb.ref('excluded.profile'),
            address: eb.ref('excluded.address'),
            payment_method: eb.ref('excluded.payment_method'),
            last_inbound_at: eb.fn.coalesce('excluded.last_inbound_at', 'customers.last_inbound_at'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },

    get: (id) => getWhere('id', id),

    findByPhone: (phone) => getWhere('phone', phone),

    async setLastInboundAt(id, at) {
      const iso = toIsoTimestamp(at);
      await db
        .updateTable('customers')
        .set({ last_inbound_at: iso, updated_at: isoNow(clock) })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_inbound_at', 'is', null), eb('last_inbound_at', '<', iso)]))
        .execute();
    },

    async setPreferences(id, prefs) {
      const entries = Object.entries(prefs);
      if (entries.length === 0) return;
      for (const [key, value] of entries) {
        const ok = typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
        if (!ok) throw new TypeError(`preference ${key} must be a string or an array of strings`);
      }
      const now = isoNow(clock);
      await db
        .insertInto('profile_preferences')
        .values(entries.map(([key, value]) => ({ customer_id: id, key, value: toJsonText(value), updated_at: now })))
        .onConflict((oc) =>
          oc.columns(['customer_id', 'key']).doUpdateSet((eb) => ({
            value: eb.ref('excluded.value'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },

    async getPreferences(id) {
      const rows = await db
        .selectFrom('profile_preferences')
        .select(['key', 'value'])
        .where('customer_id', '=', id)
        .orderBy('key')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.key, fromJsonText<PreferenceValue>(r.value)]));
    },
  };
}

/** A stored row as the customer it describes (JSON columns parsed, nulls left out). */
export function toCustomer(row: Selectable<CustomersTable>): Customer {
  const address = fromNullableJsonText<Address>(row.address);
  const paymentMethod = fromNullableJsonText<PaymentMethod>(row.payment_method);
  return {
    id: row.id,
    ...(row.email === null ? {} : { email: row.email }),
    ...(row.phone === null ? {} : { phone: row.phone }),
    locale: row.locale,
    currency: row.currency,
    timezone: row.timezone,
    profile: fromJsonText<Record<string, unknown>>(row.profile),
    ...(address === undefined ? {} : { address }),
    ...(paymentMethod === undefined ? {} : { paymentMethod }),
    ...(row.last_inbound_at === null ? {} : { lastInboundAt: row.last_inbound_at }),
  };
}

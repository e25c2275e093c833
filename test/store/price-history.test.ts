import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { migrationProvider } from '../../src/store/migrations/index.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { createManualClock } from '../support/test-clock.ts';
import { BACKENDS, createBackend, dropPgSchema, PG_URL, uid } from './backends.ts';
import { installFailingTrigger } from './failing-trigger.ts';
import { product } from './fixtures.ts';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const day = (n: number) => new Date(T0 + n * DAY).toISOString();

describe.each(BACKENDS)('price history on %s', (backendName) => {
  const backend = createBackend(backendName);
  const clock = createManualClock(day(0));
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ ...backend.options, now: clock.now });
  });
  afterAll(async () => {
    await store?.close();
    await backend.destroy();
  });

  const rows = (sku: string) =>
    store.db
      .selectFrom('price_history')
      .select(['currency', 'price_minor', 'valid_from'])
      .where('sku', '=', sku)
      .orderBy('currency')
      .orderBy('valid_from')
      .execute();
  const putAt = (atDay: number, ...products: Parameters<typeof product>[]) => {
    clock.set(day(atDay));
    return store.products.upsertMany(products.map((args) => product(...args)));
  };

  it('records each market price change with the store clock, once, and the lowest of the 30 days before it', async () => {
    const sku = uid('hist');
    await putAt(-31, [sku, { price: 49.95, prices: { SEK: 100 } }]);
    // The same prices again (other fields changed): nothing recorded.
    await putAt(-30, [sku, { title: 'Renamed', price: 49.95, prices: { SEK: 100 } }]);
    await putAt(0, [sku, { price: 49.95, prices: { SEK: 80 } }]);
    await putAt(10, [sku, { price: 49.95, prices: { SEK: 120 } }]);
    await putAt(20, [sku, { price: 49.95, prices: { SEK: 120, TRY: 2499 } }]);
    const [atDay35] = await putAt(35, [sku, { price: 49.95, prices: { SEK: 90, TRY: 2499 } }]);
    // TRY dropped from `prices`: the market's end is recorded.
    await putAt(50, [sku, { price: 44.95, prices: { SEK: 70 } }]);
    await putAt(51, [sku, { price: 44.95, prices: { SEK: 70 } }]);

    expect(await rows(sku)).toEqual([
      { currency: 'EUR', price_minor: 4995, valid_from: day(-31) },
      { currency: 'EUR', price_minor: 4495, valid_from: day(50) },
      { currency: 'SEK', price_minor: 10000, valid_from: day(-31) },
      { currency: 'SEK', price_minor: 8000, valid_from: day(0) },
      { currency: 'SEK', price_minor: 12000, valid_from: day(10) },
      { currency: 'SEK', price_minor: 9000, valid_from: day(35) },
      { currency: 'SEK', price_minor: 7000, valid_from: day(50) },
      { currency: 'TRY', price_minor: 249900, valid_from: day(20) },
      { currency: 'TRY', price_minor: null, valid_from: day(50) },
    ]);
    // Day 35: the 30 days before (days 5..35) saw 80 and 120; TRY (day 20) and EUR (the first
    // price, day -31) have no 30 days of history before them.
    expect(atDay35!.referencePrices).toEqual({ SEK: { priceMinor: 9000, since: day(35), lowest30dMinor: 8000 } });
    // Day 50: days 20..50 saw 120 and 90; EUR's 49.95 applied for the whole 30 days before 44.95.
    const expected = {
      EUR: { priceMinor: 4495, since: day(50), lowest30dMinor: 4995 },
      SEK: { priceMinor: 7000, since: day(50), lowest30dMinor: 9000 },
    };
    clock.set(day(400));
    expect((await store.products.get(sku))!.referencePrices).toEqual(expected);
    expect((await store.products.getMany([sku]))[0]!.referencePrices).toEqual(expected);
    expect((await store.products.list()).find((p) => p.sku === sku)!.referencePrices).toEqual(expected);
    // What products carry is what the history gives for the current prices, however late.
    expect(await store.products.referencePricesAt([sku])).toEqual(new Map([[sku, expected]]));

    expect(await store.products.referencePricesAt([sku, 'no-such-sku'], new Date(day(5)))).toEqual(
      new Map([
        [
          sku,
          {
            EUR: { priceMinor: 4995, since: day(-31), lowest30dMinor: null },
            SEK: { priceMinor: 8000, since: day(0), lowest30dMinor: 10000 },
          },
        ],
      ]),
    );
    expect((await store.products.referencePricesAt([sku], new Date(day(40)))).get(sku)).toEqual({
      EUR: { priceMinor: 4995, since: day(-31), lowest30dMinor: null },
      SEK: { priceMinor: 9000, since: day(35), lowest30dMinor: 8000 },
      TRY: { priceMinor: 249900, since: day(20), lowest30dMinor: null },
    });
    expect(await store.products.referencePricesAt([sku], new Date(day(-32)))).toEqual(new Map());
  });

  it('priceHistory: per market, newest first, the prices in effect during the last 90 days', async () => {
    const sku = uid('window');
    await putAt(-200, [sku, { price: 10, prices: { SEK: 100 } }]);
    await putAt(-100, [sku, { price: 10, prices: { SEK: 110 } }]);
    await putAt(-20, [sku, { price: 10, prices: { SEK: 120 } }]);
    await putAt(-5, [sku, { price: 10 }]);
    clock.set(day(0));
    expect(await store.products.priceHistory(sku)).toEqual({
      // In effect since day -200: the oldest price of the 90 days is known.
      EUR: [{ priceMinor: 1000, validFrom: day(-200) }],
      SEK: [
        { priceMinor: null, validFrom: day(-5) },
        { priceMinor: 12000, validFrom: day(-20) },
        { priceMinor: 11000, validFrom: day(-100) },
      ],
    });
    expect(await store.products.priceHistory(sku, { days: 10, limit: 1 })).toEqual({
      EUR: [{ priceMinor: 1000, validFrom: day(-200) }],
      SEK: [{ priceMinor: null, validFrom: day(-5) }],
    });
    expect(await store.products.priceHistory('no-such-sku')).toEqual({});
  });

  it('a market offered again after it ended has no prior price until 30 days lie after the gap', async () => {
    const sku = uid('gap');
    await putAt(-40, [sku, { prices: { SEK: 600 } }]);
    await putAt(5, [sku, {}]);
    await putAt(10, [sku, { prices: { SEK: 500 } }]);
    expect((await putAt(30, [sku, { prices: { SEK: 400 } }]))[0]!.referencePrices).toBeUndefined();
    // EUR kept its first price (day -40), which has no history before it.
    expect((await putAt(41, [sku, { prices: { SEK: 300 } }]))[0]!.referencePrices).toStrictEqual({
      SEK: { priceMinor: 30000, since: day(41), lowest30dMinor: 40000 },
    });
  });

  it('a change at the same instant as the last one is recorded 1 ms after it, so no change is lost', async () => {
    const sku = uid('instant');
    await putAt(0, [sku, { price: 40 }]);
    await putAt(0, [sku, { price: 30 }]);
    await putAt(0, [sku, { price: 40 }]);
    expect(await rows(sku)).toEqual([
      { currency: 'EUR', price_minor: 4000, valid_from: day(0) },
      { currency: 'EUR', price_minor: 3000, valid_from: new Date(T0 + 1).toISOString() },
      { currency: 'EUR', price_minor: 4000, valid_from: new Date(T0 + 2).toISOString() },
    ]);
  });

  it('a batch that fails records no history, also when the database fails after an earlier slice was recorded', async () => {
    const sku = uid('atomic');
    await putAt(0, [sku, { price: 40 }]);
    clock.set(day(1));
    await expect(store.products.upsertMany([product(sku, { price: 30 }), product(uid('bad'), { price: 1.234 })])).rejects.toThrow(/2 decimal places/);
    // Raises inside the database on recording a JPY price: the 201st product's, in the second
    // slice of 200, after the first slice's changes were inserted.
    const removeTrigger = await installFailingTrigger(store, { name: 'boom_history', table: 'price_history', column: 'currency', value: 'JPY' });
    const filler = Array.from({ length: 199 }, () => product(uid('fill')));
    try {
      await expect(store.products.upsertMany([product(sku, { price: 30 }), ...filler, product(uid('yen'), { price: 5000, currency: 'JPY' })])).rejects.toThrow(/boom/);
    } finally {
      await removeTrigger();
    }
    expect(await rows(sku)).toEqual([{ currency: 'EUR', price_minor: 4000, valid_from: day(0) }]);
    expect(await store.products.get(filler[0]!.sku)).toBeUndefined();
  });

  it('keeps compare-at prices per market in minor units', async () => {
    const sku = uid('cmp');
    const input = product(sku, { compareAtPrice: 59.95, prices: { SEK: 549.5, JPY: 8200 }, compareAtPrices: { SEK: 899.5, JPY: 9900 } });
    await putAt(0, [sku, input]);
    expect(await store.products.get(sku)).toStrictEqual(input);
    const row = await store.db.selectFrom('products').select(['compare_at_prices']).where('sku', '=', sku).executeTakeFirstOrThrow();
    expect(JSON.parse(row.compare_at_prices)).toEqual({ SEK: 89950, JPY: 9900 });
    // Replaced like every other field: absent means none.
    await putAt(1, [sku, { prices: { SEK: 549.5 } }]);
    expect((await store.products.get(sku))!.compareAtPrices).toBeUndefined();
  });

  it.each([
    [{ prices: { SEK: 549 }, compareAtPrices: { SEK: 549 } }, 'must be greater than the SEK price 549 (prices.SEK): a compare-at price at or below the price claims a saving that is not there'],
    [{ prices: { SEK: 549 }, compareAtPrices: { SEK: 0 } }, 'must be greater than 0: a product without a price cannot be offered for sale'],
    [{ prices: { SEK: 549 }, compareAtPrices: { SEK: 899.555 } }, 'SEK allows at most 2 decimal places'],
    [{ compareAtPrices: { SEK: 899 } }, 'there is no SEK price: add prices.SEK, or remove compareAtPrices.SEK'],
  ])('refuses compareAtPrices %o', async (overrides, message) => {
    const sku = uid('badcmp');
    await expect(putAt(0, [sku, overrides])).rejects.toThrow(message);
    expect(await store.products.get(sku)).toBeUndefined();
  });
});

/** 0006 on a database that already has products. */
async function migrateWithProduct(db: Kysely<any>, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, ...(schema === undefined ? {} : { migrationTableSchema: schema }) });
  expect((await migrator.migrateTo('0005_order_locale')).error).toBeUndefined();
  await db
    .insertInto('products')
    .values({
      sku: 'OLD-1', title: 'Old shirt', price_minor: 4995, currency: 'EUR', market_prices: '{"SEK":54900,"EUR":4495}',
      url: 'https://shop.example/p/old', tags: '[]', new_arrival: 0, created_at: day(-100), updated_at: day(-3),
    })
    .execute();
  expect((await migrator.migrateTo('0006_price_history')).error).toBeUndefined();
  expect(await migrateToLatest(db, schema)).not.toContain('0006_price_history');
}

describe('0006_price_history', () => {
  const expectBackfilled = async (db: Kysely<any>) => {
    const history = await db.selectFrom('price_history').selectAll().orderBy('currency').execute();
    // The price known since the row's last write; a market entry for the base currency wins.
    expect(history.map((r) => ({ ...r, price_minor: Number(r.price_minor) }))).toEqual([
      { sku: 'OLD-1', currency: 'EUR', price_minor: 4495, valid_from: day(-3) },
      { sku: 'OLD-1', currency: 'SEK', price_minor: 54900, valid_from: day(-3) },
    ]);
    expect(await db.selectFrom('products').select(['compare_at_prices', 'reference_prices']).execute()).toEqual([{ compare_at_prices: '{}', reference_prices: '{}' }]);
  };

  it('gives products stored before it one history row per market, from their last write, on SQLite', async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    try {
      await migrateWithProduct(db);
      await expectBackfilled(db);
    } finally {
      await db.destroy();
    }
  });

  it('…and on PostgreSQL', async () => {
    const schema = `t_store_${randomBytes(6).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1, options: `-c search_path=${schema}` });
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    try {
      await sql`create schema ${sql.id(schema)}`.execute(db);
      await migrateWithProduct(db, schema);
      await expectBackfilled(db);
    } finally {
      await db.destroy();
      await dropPgSchema(schema);
    }
  });
});

import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { migrationProvider } from '../../src/store/migrations/index.ts';
import { openStore } from '../../src/store/open-store.ts';
import { placeOrder } from '../../src/store/place-order.ts';
import { BACKENDS, PG_URL, createBackend, uid } from './backends.ts';
import { address, product } from './fixtures.ts';

describe.each(BACKENDS)('openStore on %s', (backendName) => {
  const backend = createBackend(backendName);
  afterAll(() => backend.destroy());

  it('reopening the same database keeps products, orders, carts and consents', async () => {
    const first = await backend.open();
    expect(first.dialect).toBe(backendName);
    const sku = uid('keep');
    await first.products.upsertMany([product(sku)]);
    const result = await placeOrder(first, {
      idempotencyKey: uid('key'),
      customerId: 'cust-reopen',
      channel: 'api',
      currency: 'EUR',
      lines: [{ sku, size: 'M', quantity: 2, unitPriceMinor: 4995, title: 'Linen shirt' }],
      shippingAddress: address,
    });
    if (!('order' in result)) throw new Error('order not placed');
    await first.carts.setItem('cust-reopen', sku, 'S', 1);
    await first.consents.set('cust-reopen', 'email', false, 'unsubscribe');
    await first.close();

    const second = await backend.open();
    try {
      expect(await second.products.get(sku)).toStrictEqual({
        ...product(sku),
        sizes: [
          { size: 'S', stock: 3 },
          { size: 'M', stock: 3 },
        ],
      });
      expect(await second.orders.get(result.order.id)).toStrictEqual(result.order);
      expect((await second.carts.get('cust-reopen')).items).toEqual([{ sku, size: 'S', quantity: 1 }]);
      expect(await second.consents.isOptedOut('cust-reopen', 'email')).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('migrations run once: reopening and re-running them changes nothing', async () => {
    const a = await backend.open();
    const b = await backend.open();
    try {
      expect(await migrateToLatest(a.db, backendName === 'postgres' ? backend.options.pgSchema : undefined)).toEqual([]);
      const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(b.db);
      expect(rows.rows.map((r) => r.name)).toEqual(['0001_initial', '0002_whatsapp_contents', '0003_whatsapp_replies', '0004_whatsapp_reply_backoff', '0005_order_locale', '0006_price_history', '0007_order_loop', '0008_campaigns', '0009_campaign_results', '0010_triggers']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('enforces foreign keys and checks', async () => {
    const store = await backend.open();
    try {
      await expect(
        store.db.insertInto('product_sizes').values({ sku: uid('orphan'), size: 'M', position: 0, stock: 1 }).execute(),
      ).rejects.toThrow();
      const sku = uid('neg');
      await store.products.upsertMany([product(sku)]);
      await expect(
        store.db.updateTable('product_sizes').set({ stock: -1 }).where('sku', '=', sku).execute(),
      ).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  it('ping answers while open; close is idempotent', async () => {
    const store = await backend.open();
    expect(await store.ping()).toBe(true);
    await store.close();
    await store.close();
    expect(await store.ping()).toBe(false);
  });
});

describe('openStore on sqlite: file setup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inboxcart-open-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the data dir and uses WAL, foreign keys and a busy timeout', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const store = await openStore({ dataDir });
    try {
      expect(existsSync(join(dataDir, 'inboxcart.sqlite'))).toBe(true);
      const pragma = async (name: string) =>
        Object.values((await sql.raw(`pragma ${name}`).execute(store.db)).rows[0] as object)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(5000);
    } finally {
      await store.close();
    }
  });
});

describe('0005_order_locale', () => {
  it('gives orders placed before it the stored customer\'s locale, and null where the customer is unknown', async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
    try {
      expect((await new Migrator({ db, provider: migrationProvider }).migrateTo('0003_whatsapp_replies')).error).toBeUndefined();
      const at = '2026-11-01T10:00:00.000Z';
      await db.insertInto('customers').values({ id: 'cust-emre', locale: 'tr', currency: 'TRY', timezone: 'Europe/Istanbul', profile: '{}', created_at: at, updated_at: at }).execute();
      const order = (id: string, customer: string) => ({
        id, number: `IC-${id}`, customer_id: customer, channel: 'email', status: 'placed', currency: 'TRY', total_minor: 100,
        shipping_address: '{}', idempotency_key: `k-${id}`, created_at: at, updated_at: at,
      });
      await db.insertInto('orders').values([order('A1', 'cust-emre'), order('A2', 'cust-unknown')]).execute();
      expect(await migrateToLatest(db)).toContain('0005_order_locale');
      expect(await db.selectFrom('orders').select(['id', 'locale']).orderBy('id').execute()).toEqual([
        { id: 'A1', locale: 'tr' },
        { id: 'A2', locale: null },
      ]);
    } finally {
      await db.destroy();
    }
  });
});

describe('openStore on postgres: schemas', () => {
  const schemas = [`t_store_${uid('iso').replace('-', '_')}`, `t_store_${uid('iso').replace('-', '_')}`];
  afterAll(async () => {
    const store = await openStore({ databaseUrl: PG_URL });
    try {
      for (const s of schemas) await sql`drop schema if exists ${sql.id(s)} cascade`.execute(store.db);
    } finally {
      await store.close();
    }
  });

  it('keeps each schema\'s rows to itself', async () => {
    const [one, two] = await Promise.all(schemas.map((pgSchema) => openStore({ databaseUrl: PG_URL, pgSchema })));
    try {
      await one!.products.upsertMany([product('ONLY-IN-ONE')]);
      expect(await one!.products.get('ONLY-IN-ONE')).toBeDefined();
      expect(await two!.products.get('ONLY-IN-ONE')).toBeUndefined();
      const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables
        where table_schema = ${schemas[0]!} and table_name = 'products'`.execute(one!.db);
      expect(tables.rows[0]?.n).toBe(1);
    } finally {
      await one?.close();
      await two?.close();
    }
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    await expect(openStore({ databaseUrl: PG_URL, pgSchema: 'x; drop table y' })).rejects.toThrow(/pgSchema/);
  });
});

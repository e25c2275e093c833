import { mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { createCartsRepository, type CartsRepository } from './carts-repository.ts';
import { createConsentsRepository, type ConsentsRepository } from './consents-repository.ts';
import { createConversationsRepository, type ConversationsRepository } from './conversations-repository.ts';
import { createCustomersRepository, type CustomersRepository } from './customers-repository.ts';
import type { Database } from './database-schema.ts';
import { createEventsRepository, type EventsRepository } from './events-repository.ts';
import { createMessagesRepository, type MessagesRepository } from './messages-repository.ts';
import { migrateToLatest } from './migrate.ts';
import { createOrdersRepository, type OrdersRepository } from './orders-repository.ts';
import { createProductsRepository, type ProductsRepository } from './products-repository.ts';
import { createWhatsappContentsRepository, type WhatsappContentsRepository } from './whatsapp-contents-repository.ts';
import { createWhatsappRepliesRepository, type WhatsappRepliesRepository } from './whatsapp-replies-repository.ts';
import { createWebhooksRepository, type WebhookTargets, type WebhooksRepository } from './webhooks-repository.ts';
import { systemClock, type Clock } from './timestamps.ts';

export interface OpenStoreOptions {
  /** PostgreSQL connection string (DATABASE_URL). Without it the store is a SQLite file. */
  databaseUrl?: string;
  /** Folder for the SQLite file; created if missing. Default `./data`. */
  dataDir?: string;
  /** SQLite file name (relative to dataDir) or absolute path. Default `inboxcart.sqlite`. */
  sqliteFile?: string;
  /**
   * PostgreSQL schema holding every table, created if missing. Lets tenants or parallel test
   * files share one database without seeing each other's rows.
   */
  pgSchema?: string;
  /** Connections per instance; PostgreSQL's own limit is shared by all instances. Default 10. */
  pgPoolSize?: number;
  /**
   * An idle pooled connection failed (server restart, network). The pool replaces it on next
   * use; this only reports it. Default: a process warning.
   */
  onPoolError?: (error: Error) => void;
  /** The clock row timestamps (created_at, updated_at, leases) are taken from. Default: the system clock. */
  now?: Clock;
  /** Where the shop's webhook events go (WEBHOOK_URL): each event gets a delivery per URL. Default: none. */
  webhookUrls?: readonly string[];
}

/**
 * The repositories and the executor they are bound to: the database, or one transaction
 * (the `tx` that `transaction` hands its work).
 */
export interface Repositories {
  /** The database, or inside `transaction` the kysely transaction (`db.isTransaction`). */
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  products: ProductsRepository;
  customers: CustomersRepository;
  carts: CartsRepository;
  orders: OrdersRepository;
  conversations: ConversationsRepository;
  messages: MessagesRepository;
  events: EventsRepository;
  consents: ConsentsRepository;
  /** Content API sids recorded by `inboxcart twilio sync`. */
  whatsappContents: WhatsappContentsRepository;
  /** WhatsApp replies queued until Twilio has taken them (whatsapp-replies-repository.ts). */
  whatsappReplies: WhatsappRepliesRepository;
  /** The shop's webhook events and their deliveries: the transactional outbox (webhooks-repository.ts). */
  webhooks: WebhooksRepository;
  /** The clock the store writes timestamps with (placeOrder stamps orders with it too). */
  now: Clock;
  /**
   * Runs `work` in one transaction: its writes commit together when it resolves and none of
   * them when it throws. `tx` holds the same repositories bound to the transaction; inside
   * `work` use only `tx`. On SQLite the transaction holds the one connection, so a query on the
   * outer store would wait for it forever; on PostgreSQL it would run on another connection,
   * outside the transaction. Called on a `tx`, it joins that transaction (kysely cannot nest
   * them), and a throw rolls the whole of it back. No network calls inside: the transaction
   * holds its locks (and on SQLite the database) until it ends.
   *
   * @example
   * // The claim, the order and the replies commit together, or none of them does.
   * await store.transaction(async (tx) => {
   *   if (!(await tx.events.claimInTransaction(key, 'whatsapp.inbound'))) return;
   *   await placeOrder(tx, input);
   *   await tx.whatsappReplies.enqueue(key, replies, now());
   *   await tx.events.complete(key, { replies: replies.length });
   * });
   */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
}

export interface Store extends Repositories {
  /** The options it was opened with: another thread opens the same database with them. */
  openedWith: Readonly<OpenStoreOptions>;
  /** True when the database answers; for /readyz. */
  ping(): Promise<boolean>;
  /** Closes the SQLite file or drains the pool. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Repositories are a few closures each: binding a set to every transaction costs nothing to speak
 * of. `recorded`: a transaction's set marks that it wrote webhook events, so the listeners hear
 * of them once it has committed (and never of a rollback).
 */
function repositories(db: Kysely<Database>, dialect: Repositories['dialect'], now: Clock, targets: WebhookTargets, recorded?: () => void): Repositories {
  const bound: Repositories = {
    db,
    dialect,
    now,
    products: createProductsRepository(db, now),
    customers: createCustomersRepository(db, now),
    carts: createCartsRepository(db, now),
    orders: createOrdersRepository(db, dialect),
    conversations: createConversationsRepository(db, now),
    messages: createMessagesRepository(db, now),
    events: createEventsRepository(db, now),
    consents: createConsentsRepository(db, now),
    whatsappContents: createWhatsappContentsRepository(db, now),
    whatsappReplies: createWhatsappRepliesRepository(db),
    webhooks: createWebhooksRepository(db, dialect, targets, now, recorded),
    transaction: async (work) => {
      if (db.isTransaction) return work(bound);
      let wroteEvents = false;
      const result = await db.transaction().execute((trx) => work(repositories(trx, dialect, now, targets, () => (wroteEvents = true))));
      if (wroteEvents) for (const listener of targets.listeners) listener();
      return result;
    },
  };
  return bound;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens the database named by the options and migrates it to the latest schema. */
export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const { db, dialect, migrationSchema } = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, opts)
    : { db: openSqlite(opts), dialect: 'sqlite' as const, migrationSchema: undefined };
  try {
    await migrateToLatest(db, migrationSchema);
  } catch (error) {
    await db.destroy();
    throw error;
  }

  let closed: Promise<void> | undefined;
  return {
    ...repositories(db, dialect, opts.now ?? systemClock, { urls: opts.webhookUrls ?? [], listeners: new Set() }),
    openedWith: { ...opts },
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closed ??= db.destroy();
      return closed;
    },
  };
}

function openSqlite(opts: OpenStoreOptions): Kysely<Database> {
  const file = opts.sqliteFile ?? 'inboxcart.sqlite';
  let path = file;
  if (file !== ':memory:' && !isAbsolute(file)) {
    const dir = resolve(opts.dataDir ?? 'data');
    mkdirSync(dir, { recursive: true });
    path = join(dir, file);
  }
  const database = new BetterSqlite3(path);
  try {
    // WAL lets readers (another instance, the CLI, sqlite3 shell) work while the service writes.
    database.pragma('journal_mode = WAL');
    // SQLite leaves foreign keys off unless asked, per connection.
    database.pragma('foreign_keys = ON');
    // Another process holding the write lock makes us wait instead of failing with SQLITE_BUSY.
    database.pragma('busy_timeout = 5000');
  } catch (error) {
    database.close();
    throw error;
  }
  // Kysely's SqliteDialect funnels every query through this one connection behind a mutex, so
  // a transaction holds it from BEGIN to COMMIT and in-process transactions are serialised.
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
}

async function openPostgres(
  connectionString: string,
  opts: OpenStoreOptions,
): Promise<{ db: Kysely<Database>; dialect: 'postgres'; migrationSchema: string | undefined }> {
  const schema = opts.pgSchema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new RangeError(`pgSchema must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`);
  }
  const pool = new pg.Pool({
    connectionString,
    max: opts.pgPoolSize ?? 10,
    // Set at connect time, so every pooled connection (and every transaction) sees only this
    // schema; a per-query SET could be lost when the pool hands out another connection.
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    types: { getTypeParser: bigintAsNumber },
  });
  const onPoolError = opts.onPoolError ?? ((error: Error) => process.emitWarning(error, 'InboxcartPoolWarning'));
  // Without a listener an idle connection's error is an unhandled 'error' event and ends the process.
  pool.on('error', onPoolError);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (schema !== undefined) await createSchema(db, schema);
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    return { db, dialect: 'postgres', migrationSchema: rows[0]?.schema ?? undefined };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

async function createSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two instances creating it at once: IF NOT EXISTS can still fail with a unique violation.
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_namespace where nspname = ${schema}`.execute(db);
    if (rows[0]?.n !== 1) throw error;
  }
}

/**
 * Money columns are int8, which pg returns as strings to be safe beyond 2^53. Minor units stay
 * far below that (90 trillion euros), so they come back as numbers like SQLite's do.
 */
function bigintAsNumber(oid: number, format?: 'text' | 'binary'): unknown {
  if (oid === pg.types.builtins.INT8 && format !== 'binary') return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format);
}

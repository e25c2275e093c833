import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * The loop with the shop (shared/DESIGN.md): orders go out through a polling feed and signed
 * webhooks, and their status comes back.
 *
 * - `orders.feed_position`: where an order stands in `GET /v1/orders?after=`. A poller must
 *   never skip an order, so the position follows commit order, not the clock: on SQLite the
 *   next number (one writer at a time, so numbers are taken in commit order); on PostgreSQL the
 *   id of the inserting transaction, which the feed only shows once every older transaction
 *   has ended (orders-repository.ts). Orders placed before this migration are numbered from 1
 *   in the order they were placed, below every transaction id that can come after them.
 * - `order_status_changes`: every change the shop's order system made, in order; carrier and
 *   tracking URL with the fulfilment.
 * - `webhook_events` / `webhook_deliveries`: the transactional outbox. An event is written in
 *   the transaction of the change it reports, with one delivery per configured URL; `seq`
 *   orders the events of one order (or customer, `ordering_key`) for delivery; a delivery is
 *   leased (`claimed_until`, `lease_token`) by the instance sending it, like whatsapp_replies.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

  await db.schema.alterTable('orders').addColumn('feed_position', 'bigint').execute();
  await sql`update orders set feed_position = (select count(*) from orders o where o.created_at < orders.created_at or (o.created_at = orders.created_at and o.id <= orders.id))`.execute(db);
  await db.schema.createIndex('orders_feed_idx').on('orders').columns(['feed_position', 'id']).execute();

  await db.schema
    .createTable('order_status_changes')
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('from_status', 'text', (c) => c.notNull())
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('carrier', 'text')
    .addColumn('tracking_url', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('order_status_changes_pkey', ['order_id', 'seq'])
    .addForeignKeyConstraint('order_status_changes_order_id_fkey', ['order_id'], 'orders', ['id'], (fk) => fk.onDelete('cascade'))
    .execute();

  await db.schema
    .createTable('webhook_events')
    // SQLite: an alias of the rowid, never reused (AUTOINCREMENT); PostgreSQL: a sequence.
    .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.notNull() : c.notNull().primaryKey().autoIncrement()))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('ordering_key', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text')
    .addColumn('customer_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .$call((t) => (postgres ? t.addPrimaryKeyConstraint('webhook_events_pkey', ['seq']) : t))
    .addUniqueConstraint('webhook_events_id_key', ['id'])
    .execute();
  await db.schema.createIndex('webhook_events_order_idx').on('webhook_events').column('order_id').execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('event_seq', 'bigint', (c) => c.notNull())
    .addColumn('ordering_key', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('give_up_at', 'text', (c) => c.notNull())
    .addColumn('claimed_until', 'text')
    .addColumn('lease_token', 'text')
    .addColumn('last_error', 'text')
    .addColumn('last_status', 'integer')
    .addColumn('delivered_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_deliveries_pkey', ['id'])
    .addUniqueConstraint('webhook_deliveries_event_seq_url_key', ['event_seq', 'url'])
    .addForeignKeyConstraint('webhook_deliveries_event_seq_fkey', ['event_seq'], 'webhook_events', ['seq'], (fk) => fk.onDelete('cascade'))
    .execute();
  // The dispatcher's due query, and the "an earlier event of this order is still pending" check.
  await db.schema.createIndex('webhook_deliveries_due_idx').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_deliveries_chain_idx').on('webhook_deliveries').columns(['ordering_key', 'url', 'event_seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhook_events').execute();
  await db.schema.dropTable('order_status_changes').execute();
  await db.schema.dropIndex('orders_feed_idx').execute();
  await db.schema.alterTable('orders').dropColumn('feed_position').execute();
}

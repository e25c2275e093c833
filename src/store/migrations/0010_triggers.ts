import type { Kysely } from 'kysely';

/**
 * Triggered journeys (src/triggers/):
 *
 * - `customer_events`: what the shop tells us customers did (POST /v1/events), one row per event
 *   id (the primary key makes a resent event a no-op; `body_hash` tells a resend from another
 *   event under a reused id). A bounded number is kept per customer (customer-events.ts).
 * - `trigger_fires`: the "to notify" record of the transactional outbox. A catalog write and its
 *   price-drop or back-in-stock fire commit together; a scheduled tick writes the time-based
 *   ones. `(trigger, cause_key)` is unique, so one cause fires once whoever sees it and however
 *   often. `status` moves from pending to dispatched once the fire's campaigns exist.
 * - `trigger_settings`: changes made through PUT /v1/triggers/:name over triggers.json, shared
 *   by every instance.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('customer_events')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('sku', 'text')
    .addColumn('size', 'text')
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('body_hash', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('customer_events_customer').on('customer_events').columns(['customer_id', 'occurred_at']).execute();
  await db.schema.createIndex('customer_events_sku').on('customer_events').columns(['sku', 'type', 'occurred_at']).execute();
  await db.schema.createIndex('customer_events_type').on('customer_events').columns(['type', 'occurred_at']).execute();

  await db.schema
    .createTable('trigger_fires')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('cause_key', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('cause', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('campaign_ids', 'text', (c) => c.notNull())
    .addColumn('recipients', 'integer', (c) => c.notNull())
    .addColumn('fired_at', 'text', (c) => c.notNull())
    .addColumn('dispatched_at', 'text')
    .addUniqueConstraint('trigger_fires_cause', ['trigger', 'cause_key'])
    .execute();
  await db.schema.createIndex('trigger_fires_status').on('trigger_fires').columns(['status', 'fired_at']).execute();
  await db.schema.createIndex('trigger_fires_subject').on('trigger_fires').columns(['trigger', 'subject', 'fired_at']).execute();

  await db.schema
    .createTable('trigger_settings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('trigger_settings').execute();
  await db.schema.dropTable('trigger_fires').execute();
  await db.schema.dropTable('customer_events').execute();
}

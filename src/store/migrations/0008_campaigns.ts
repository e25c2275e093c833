import type { Kysely } from 'kysely';

/**
 * Campaigns run as chunk jobs (src/campaigns/). Everything a worker needs to pick up where a
 * dead one stopped lives here, so any instance can continue a campaign:
 *
 * - `campaigns`: the validated request (`spec`) and its hash, so a reused id with another body
 *   is told apart from a retry of the same request; `status` is what pause/resume/cancel set.
 * - `campaign_recipients`: the audience resolved once at creation (segments are computed at that
 *   instant), with the profile each recipient is rendered with, numbered by `seq`.
 * - `campaign_chunks`: `seq` ranges one job renders and delivers; `run_at` and `lease_until`
 *   serve the embedded runner (no Redis), `generation` names the BullMQ job of each run.
 * - `campaign_deliveries`: one row per campaign × customer × channel (the primary key is the
 *   idempotency key), written before the message is handed to SMTP or Twilio; `delivered_at`
 *   also feeds the frequency cap across campaigns.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('body_hash', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('recipients', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('campaign_recipients')
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('campaign_recipients_pkey', ['campaign_id', 'seq'])
    .execute();
  await db.schema
    .createTable('campaign_chunks')
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('chunk', 'integer', (c) => c.notNull())
    .addColumn('first_seq', 'integer', (c) => c.notNull())
    .addColumn('last_seq', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('generation', 'integer', (c) => c.notNull())
    .addColumn('run_at', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'text')
    .addPrimaryKeyConstraint('campaign_chunks_pkey', ['campaign_id', 'chunk'])
    .execute();
  await db.schema.createIndex('campaign_chunks_status_run_at').on('campaign_chunks').columns(['status', 'run_at']).execute();
  await db.schema
    .createTable('campaign_deliveries')
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('rendered', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('claimed_until', 'text')
    .addColumn('not_before', 'text')
    .addColumn('provider_id', 'text')
    .addColumn('delivered_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('campaign_deliveries_pkey', ['campaign_id', 'customer_id', 'channel'])
    .execute();
  await db.schema.createIndex('campaign_deliveries_cap').on('campaign_deliveries').columns(['customer_id', 'channel', 'delivered_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('campaign_deliveries').execute();
  await db.schema.dropTable('campaign_chunks').execute();
  await db.schema.dropTable('campaign_recipients').execute();
  await db.schema.dropTable('campaigns').execute();
}

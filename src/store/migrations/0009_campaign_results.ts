import type { Kysely } from 'kysely';

/**
 * Campaign results (GET /v1/reports/campaigns/:id, src/reports/).
 *
 * - `campaign_renders`: one row per message the campaign engine rendered, keyed by its message
 *   id, with the A/B variant it got. Orders carry the message id (AMP token, WhatsApp payload)
 *   but not the variant: the report finds an order's variant here. A chunk run again renders
 *   the same message id with the same variant (the assignment is a stable hash), so the first
 *   row stands.
 * - `campaign_events`: what customers did with a campaign's messages, one row each: `open` (an
 *   AMP email fetched its live offers), `click` (a tracked product link, /c/<token>) and
 *   `cart_add` (an AMP cart form added a product), with the variant their signed token named.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('campaign_renders')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('campaign_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('variant', 'text')
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('rendered_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('campaign_renders_campaign_idx').on('campaign_renders').columns(['campaign_id', 'variant']).execute();

  await db.schema
    .createTable('campaign_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('campaign_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('variant', 'text')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('sku', 'text')
    .addColumn('quantity', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('campaign_events_campaign_idx').on('campaign_events').columns(['campaign_id', 'kind']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('campaign_events').execute();
  await db.schema.dropTable('campaign_renders').execute();
}

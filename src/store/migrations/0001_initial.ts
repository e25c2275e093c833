import { sql, type Kysely } from 'kysely';

/**
 * One schema for SQLite and PostgreSQL, so column types are limited to what both read back
 * the same way:
 * - money: bigint minor units (SQLite INTEGER affinity; pg's int8 is parsed to number in
 *   open-store.ts). Quantities and stock are plain integers.
 * - ids, enums and timestamps: text. Timestamps are fixed-width ISO-8601 UTC, so text order is
 *   time order.
 * - JSON: text, parsed in the repositories.
 * - booleans: integer 0/1 (better-sqlite3 cannot bind booleans).
 * Enum-like columns carry no CHECK: SQLite cannot alter a constraint without rebuilding the
 * table, and adding a status later should be a code change, not a table rebuild. Numeric
 * invariants that guard money and stock are checked in the database.
 *
 * Customer ids come from the campaign systems that send profiles, so carts, orders,
 * conversations and consents do not reference `customers`: a customer may act (add to cart,
 * reply on WhatsApp) before or without ever being stored there.
 */
// Migrations must not depend on the app's current Database type, which describes the latest
// schema, not the one this migration started from.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('products')
    .addColumn('sku', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('category', 'text')
    .addColumn('price_minor', 'bigint', (c) => c.notNull())
    .addColumn('compare_at_price_minor', 'bigint')
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('market_prices', 'text', (c) => c.notNull())
    .addColumn('image', 'text')
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('new_arrival', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('products_pkey', ['sku'])
    .addCheckConstraint('products_price_minor_check', sql`price_minor >= 0`)
    .addCheckConstraint(
      'products_compare_at_price_minor_check',
      sql`compare_at_price_minor is null or compare_at_price_minor >= 0`,
    )
    .execute();

  await db.schema
    .createTable('product_sizes')
    .addColumn('sku', 'text', (c) => c.notNull())
    .addColumn('size', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('stock', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('product_sizes_pkey', ['sku', 'size'])
    .addForeignKeyConstraint('product_sizes_sku_fkey', ['sku'], 'products', ['sku'], (fk) =>
      fk.onDelete('cascade'),
    )
    // The last line of defence for the conditional decrement: stock can never go negative.
    .addCheckConstraint('product_sizes_stock_check', sql`stock >= 0`)
    .execute();

  await db.schema
    .createTable('customers')
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('phone', 'text')
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('payment_method', 'text')
    .addColumn('last_inbound_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('customers_pkey', ['id'])
    .execute();
  // Not unique: CDPs do send duplicate profiles sharing a phone; lookups take the latest.
  await db.schema.createIndex('customers_phone_idx').on('customers').columns(['phone', 'updated_at']).execute();

  await db.schema
    .createTable('profile_preferences')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('profile_preferences_pkey', ['customer_id', 'key'])
    .execute();

  await db.schema
    .createTable('carts')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('carts_pkey', ['customer_id'])
    .execute();

  await db.schema
    .createTable('cart_items')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('sku', 'text', (c) => c.notNull())
    .addColumn('size', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('added_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('cart_items_pkey', ['customer_id', 'sku', 'size'])
    .addForeignKeyConstraint('cart_items_customer_id_fkey', ['customer_id'], 'carts', ['customer_id'], (fk) =>
      fk.onDelete('cascade'),
    )
    .addCheckConstraint('cart_items_quantity_check', sql`quantity > 0`)
    .execute();

  await db.schema
    .createTable('orders')
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('campaign_id', 'text')
    .addColumn('message_id', 'text')
    .addColumn('template', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('total_minor', 'bigint', (c) => c.notNull())
    .addColumn('payment_link', 'text')
    .addColumn('shipping_address', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('orders_pkey', ['id'])
    .addUniqueConstraint('orders_number_key', ['number'])
    .addUniqueConstraint('orders_idempotency_key_key', ['idempotency_key'])
    .addCheckConstraint('orders_total_minor_check', sql`total_minor >= 0`)
    .execute();
  await db.schema.createIndex('orders_customer_idx').on('orders').columns(['customer_id', 'created_at']).execute();
  // Revenue attribution queries go by campaign.
  await db.schema.createIndex('orders_campaign_idx').on('orders').column('campaign_id').execute();

  await db.schema
    .createTable('order_lines')
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('line_no', 'integer', (c) => c.notNull())
    .addColumn('sku', 'text', (c) => c.notNull())
    .addColumn('size', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('unit_price_minor', 'bigint', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('order_lines_pkey', ['order_id', 'line_no'])
    .addForeignKeyConstraint('order_lines_order_id_fkey', ['order_id'], 'orders', ['id'], (fk) =>
      fk.onDelete('cascade'),
    )
    .addCheckConstraint('order_lines_quantity_check', sql`quantity > 0`)
    .addCheckConstraint('order_lines_unit_price_minor_check', sql`unit_price_minor >= 0`)
    .execute();

  await db.schema
    .createTable('whatsapp_conversations')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('whatsapp_conversations_pkey', ['customer_id'])
    .execute();
  await db.schema
    .createIndex('whatsapp_conversations_expires_idx')
    .on('whatsapp_conversations')
    .column('expires_at')
    .execute();

  await db.schema
    .createTable('whatsapp_messages')
    .addColumn('sid', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('to_address', 'text')
    .addColumn('kind', 'text')
    .addColumn('template', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('status_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('whatsapp_messages_pkey', ['sid'])
    .execute();
  await db.schema.createIndex('whatsapp_messages_customer_idx').on('whatsapp_messages').column('customer_id').execute();

  await db.schema
    .createTable('processed_events')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .addPrimaryKeyConstraint('processed_events_pkey', ['key'])
    .execute();

  await db.schema
    .createTable('consents')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('granted', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('consents_pkey', ['customer_id', 'channel'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // Children before parents so foreign keys never block the drop.
  for (const table of [
    'consents',
    'processed_events',
    'whatsapp_messages',
    'whatsapp_conversations',
    'order_lines',
    'orders',
    'cart_items',
    'carts',
    'profile_preferences',
    'customers',
    'product_sizes',
    'products',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}

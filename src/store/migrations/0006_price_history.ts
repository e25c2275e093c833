import { sql, type Kysely } from 'kysely';

/**
 * Market price history, so a message that announces a reduction can show the lowest price
 * applied in the 30 days before it (Directive 98/6/EC art. 6a), and per-market compare-at
 * prices, so a "was" price is one the shop set in that currency rather than a converted one.
 *
 * - `price_history`: one row per change of one product's price in one market (currency), in
 *   effect from `valid_from` until the market's next row; a null price ends the market (the
 *   product stopped being offered in that currency).
 * - `products.compare_at_prices`: JSON, market currency → compare-at price in minor units.
 * - `products.reference_prices`: JSON, market currency → `{ priceMinor, since, lowest30dMinor }`
 *   for the markets whose current price has a full 30-day history before it took effect. It is
 *   derived from `price_history` in the transaction that changes the price and depends on
 *   nothing else (the 30 days end when the price took effect, not now), so the catalog copy the
 *   render path reads carries it without a query per recipient.
 *
 * Products stored before this migration get one history row per market, from their
 * `updated_at`: that price is known to apply since then, and nothing is known before it, so
 * none of them has a reference price until 30 days of history exist.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('products')
    .addColumn('compare_at_prices', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .alterTable('products')
    .addColumn('reference_prices', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();

  await db.schema
    .createTable('price_history')
    .addColumn('sku', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('price_minor', 'bigint')
    .addColumn('valid_from', 'text', (c) => c.notNull())
    // Also the index every lookup uses: one market's rows in time order.
    .addPrimaryKeyConstraint('price_history_pkey', ['sku', 'currency', 'valid_from'])
    .addForeignKeyConstraint('price_history_sku_fkey', ['sku'], 'products', ['sku'], (fk) => fk.onDelete('cascade'))
    .addCheckConstraint('price_history_price_minor_check', sql`price_minor is null or price_minor > 0`)
    .execute();

  const products = await db.selectFrom('products').select(['sku', 'currency', 'price_minor', 'market_prices', 'updated_at']).execute();
  const rows = products.flatMap((p: { sku: string; currency: string; price_minor: number | string; market_prices: string; updated_at: string }) => {
    // The market rule of reference-price.ts `marketPricesMinor`, inlined: a migration must keep
    // doing what it did when it shipped. A `prices` entry for the base currency wins.
    const markets: Record<string, number> = { [p.currency]: Number(p.price_minor), ...(JSON.parse(p.market_prices) as Record<string, number>) };
    return Object.entries(markets).map(([currency, price]) => ({ sku: p.sku, currency, price_minor: price, valid_from: p.updated_at }));
  });
  // Well under both dialects' bound-parameter limits (4 per row).
  for (let i = 0; i < rows.length; i += 1000) {
    await db.insertInto('price_history').values(rows.slice(i, i + 1000)).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('price_history').execute();
  await db.schema.alterTable('products').dropColumn('reference_prices').execute();
  await db.schema.alterTable('products').dropColumn('compare_at_prices').execute();
}

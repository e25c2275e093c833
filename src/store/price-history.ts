import { sql } from 'kysely';
import { marketPricesMinor, referencePriceAt, REFERENCE_PERIOD_MS, type KnownReferencePrice, type PricePoint } from '../commerce/reference-price.ts';
import type { Product } from '../commerce/product-schema.ts';
import type { Executor } from './database-schema.ts';
import { fromJsonText, toJsonText } from './json-column.ts';

/**
 * The price history of catalog products (table price_history, migration 0006): written by
 * products-repository.ts `upsertMany` in its transaction, read for reference prices and for
 * `GET /v1/catalog/products/:sku`.
 */

/** Per sku, per market currency: points in ascending `validFrom` order. */
export type PricePoints = Map<string, Map<string, PricePoint[]>>;

/** Market currency → reference price, as products carry it (`referencePrices`). */
export type ReferencePrices = Record<string, KnownReferencePrice>;

/**
 * The points of the given products' markets that were in effect at some moment from `from` on
 * (the one already in effect at `from` included) and began no later than `to`. Without `from`,
 * the whole history up to `to`.
 */
export async function loadPricePoints(executor: Executor, skus: readonly string[], range: { from?: string; to?: string } = {}): Promise<PricePoints> {
  const out: PricePoints = new Map();
  if (skus.length === 0) return out;
  let query = executor
    .selectFrom('price_history as h')
    .select(['h.sku', 'h.currency', 'h.price_minor', 'h.valid_from'])
    .where('h.sku', 'in', skus);
  if (range.to !== undefined) query = query.where('h.valid_from', '<=', range.to);
  if (range.from !== undefined) {
    const from = range.from;
    // The market's point in effect at `from` is its last one beginning at or before it; a
    // market recorded only later starts at its first point. One indexed lookup per market.
    query = query.where(
      'h.valid_from',
      '>=',
      sql<string>`coalesce((select max(p.valid_from) from price_history p
        where p.sku = h.sku and p.currency = h.currency and p.valid_from <= ${from}), ${from})`,
    );
  }
  const rows = await query.orderBy('h.sku').orderBy('h.currency').orderBy('h.valid_from').execute();
  for (const r of rows) {
    let markets = out.get(r.sku);
    if (!markets) out.set(r.sku, (markets = new Map()));
    let points = markets.get(r.currency);
    if (!points) markets.set(r.currency, (points = []));
    points.push({ priceMinor: r.price_minor, validFrom: r.valid_from });
  }
  return out;
}

/**
 * Records every market price of `products` that differs from the market's last recorded
 * point (a new market, a changed price, or a market no longer listed, recorded as ended with a
 * null price) at `now`, and refreshes the products' `reference_prices` for the markets that
 * changed. Returns every product's reference prices after the change.
 *
 * Runs after the products' rows were upserted in the same transaction: on PostgreSQL that
 * upsert holds their row locks, so a concurrent catalog write of the same products has
 * committed before the history is read here, and each change is compared with the truth.
 * A change is never recorded before the market's last point (clocks of several instances
 * may disagree): at the same or an earlier time it is recorded 1 ms after that point.
 */
export async function recordPriceChanges(trx: Executor, products: readonly Product[], now: string): Promise<Map<string, ReferencePrices>> {
  const skus = products.map((p) => p.sku);
  const periodStart = new Date(Date.parse(now) - REFERENCE_PERIOD_MS).toISOString();
  const history = await loadPricePoints(trx, skus, { from: periodStart });
  const stored = await trx.selectFrom('products').select(['sku', 'reference_prices']).where('sku', 'in', skus).execute();
  const storedBySku = new Map(stored.map((r) => [r.sku, fromJsonText<ReferencePrices>(r.reference_prices)]));

  const changes: { sku: string; currency: string; price_minor: number | null; valid_from: string }[] = [];
  const result = new Map<string, ReferencePrices>();
  const updated: string[] = [];
  for (const product of products) {
    const markets = history.get(product.sku) ?? new Map<string, PricePoint[]>();
    const prices: Record<string, number | null> = marketPricesMinor(product);
    for (const [currency, points] of markets) {
      if (!(currency in prices) && points.at(-1)?.priceMinor !== null) prices[currency] = null;
    }
    const references: ReferencePrices = { ...storedBySku.get(product.sku) };
    let changed = false;
    for (const [currency, priceMinor] of Object.entries(prices)) {
      const points = markets.get(currency) ?? [];
      const last = points.at(-1);
      if (last?.priceMinor === priceMinor) continue;
      const validFrom = last === undefined || last.validFrom < now ? now : new Date(Date.parse(last.validFrom) + 1).toISOString();
      changes.push({ sku: product.sku, currency, price_minor: priceMinor, valid_from: validFrom });
      const reference = referencePriceAt([...points, { priceMinor, validFrom }], validFrom);
      if (reference !== undefined && reference.lowest30dMinor !== null) references[currency] = { ...reference, lowest30dMinor: reference.lowest30dMinor };
      else delete references[currency];
      changed = true;
    }
    result.set(product.sku, references);
    if (changed) updated.push(product.sku);
  }

  // 4 parameters a row: well under both dialects' limits for a 200-product slice.
  for (let i = 0; i < changes.length; i += 1000) {
    await trx.insertInto('price_history').values(changes.slice(i, i + 1000)).execute();
  }
  for (const sku of updated) {
    await trx.updateTable('products').set({ reference_prices: toJsonText(result.get(sku)) }).where('sku', '=', sku).execute();
  }
  return result;
}

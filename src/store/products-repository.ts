import type { Selectable } from 'kysely';
import { chunks } from './chunks.ts';
import type { Executor, ProductSizesTable, ProductsTable } from './database-schema.ts';
import { fromJsonText, toJsonText } from './json-column.ts';
import { fromMinor, toMinor } from '../commerce/money.ts';
import { productBatchSchema, type Product, type ProductInput } from '../commerce/product-schema.ts';
import { referencePriceAt, type PricePoint, type ReferencePrice } from '../commerce/reference-price.ts';
import { loadPricePoints, recordPriceChanges, type ReferencePrices } from './price-history.ts';
import { isoNow, systemClock, type Clock } from './timestamps.ts';
import { inTransaction } from './transactions.ts';

/**
 * A product as the store returns it: the catalog contract plus what inboxcart derived from its
 * price history. `referencePrices` lists the markets whose current price has 30 days of
 * history before it took effect, with the lowest price applied in them (reference-price.ts);
 * a market not listed has no prior price and a message must not claim a reduction there.
 * Absent when no market is listed. Stays right as time passes: it changes only when a price does.
 */
export type CatalogProduct = Product & { referencePrices?: ReferencePrices };

export interface ProductsRepository {
  /**
   * Inserts or fully replaces each product (absent optional fields are cleared, sizes are
   * replaced by the given list). Validates the whole batch first and writes it in one
   * transaction: either every product is stored or none is. Throws a ZodError on bad input.
   * Every market price that changed (base `currency`, each `prices` entry, a market dropped
   * from `prices`) is recorded in the price history at the store clock's now, in the same
   * transaction; a price given again unchanged records nothing.
   */
  upsertMany(products: readonly ProductInput[]): Promise<CatalogProduct[]>;
  get(sku: string, executor?: Executor): Promise<CatalogProduct | undefined>;
  /** Products for the given skus in the order asked, unknown skus left out. */
  getMany(skus: readonly string[], executor?: Executor): Promise<CatalogProduct[]>;
  /** The whole catalog ordered by sku. */
  list(): Promise<CatalogProduct[]>;
  /**
   * One product's recorded prices per market currency, newest first: the points in effect at
   * some moment of the last `days` (default 90; the one in effect when they began included, so
   * the oldest price of the period is known), at most `limit` (default 100) per market.
   * Empty for an unknown sku.
   */
  priceHistory(sku: string, options?: { days?: number; limit?: number }): Promise<Record<string, PricePoint[]>>;
  /**
   * For each sku with a price recorded by `at` (default: the store clock's now), each market
   * with a price in effect then and its reference price, in minor units (reference-price.ts
   * `referencePriceAt`): `lowest30dMinor` null where the history does not cover the 30 days.
   * Reads the whole history of those skus up to `at`; the render path reads the
   * `referencePrices` of the products the catalog cache holds instead, with no query.
   */
  referencePricesAt(skus: readonly string[], at?: Date): Promise<Map<string, Record<string, ReferencePrice>>>;
  /**
   * Takes `quantity` units of one size if that many are in stock; false (and no change)
   * otherwise. A single conditional UPDATE, so concurrent callers can never oversell: on
   * PostgreSQL the row lock makes each re-check the stock after the previous commit.
   */
  decrementStock(executor: Executor | undefined, sku: string, size: string, quantity: number): Promise<boolean>;
  /** Puts `quantity` units back (a cancelled order); false when the catalog no longer has the size. */
  incrementStock(executor: Executor | undefined, sku: string, size: string, quantity: number): Promise<boolean>;
}

function positive(quantity: number): void {
  if (!Number.isSafeInteger(quantity) || quantity <= 0) throw new RangeError(`quantity must be a positive integer, got ${quantity}`);
}

const PRODUCTS_PER_STATEMENT = 200;
const SIZES_PER_STATEMENT = 1000;
const SKUS_PER_LOOKUP = 500;

export function createProductsRepository(db: Executor, clock: Clock = systemClock): ProductsRepository {
  async function load(executor: Executor, skus: readonly string[]): Promise<Map<string, Product>> {
    const found = new Map<string, Product>();
    for (const slice of chunks([...new Set(skus)], SKUS_PER_LOOKUP)) {
      const rows = await executor.selectFrom('products').selectAll().where('sku', 'in', slice).execute();
      if (rows.length === 0) continue;
      const sizes = await executor
        .selectFrom('product_sizes')
        .selectAll()
        .where('sku', 'in', rows.map((r) => r.sku))
        .orderBy('sku')
        .orderBy('position')
        .execute();
      const bySku = groupSizes(sizes);
      for (const row of rows) found.set(row.sku, toProduct(row, bySku.get(row.sku) ?? []));
    }
    return found;
  }

  return {
    async upsertMany(input) {
      const products = productBatchSchema.parse(input);
      if (products.length === 0) return [];
      const now = isoNow(clock);
      const references = new Map<string, ReferencePrices>();
      await inTransaction(db, async (trx) => {
        for (const slice of chunks(products, PRODUCTS_PER_STATEMENT)) {
          await trx
            .insertInto('products')
            .values(slice.map((p) => toRow(p, now)))
            .onConflict((oc) =>
              oc.column('sku').doUpdateSet((eb) => ({
                title: eb.ref('excluded.title'),
                description: eb.ref('excluded.description'),
                category: eb.ref('excluded.category'),
                price_minor: eb.ref('excluded.price_minor'),
                compare_at_price_minor: eb.ref('excluded.compare_at_price_minor'),
                currency: eb.ref('excluded.currency'),
                market_prices: eb.ref('excluded.market_prices'),
                compare_at_prices: eb.ref('excluded.compare_at_prices'),
                image: eb.ref('excluded.image'),
                url: eb.ref('excluded.url'),
                tags: eb.ref('excluded.tags'),
                new_arrival: eb.ref('excluded.new_arrival'),
                updated_at: eb.ref('excluded.updated_at'),
              })),
            )
            .execute();
          await trx
            .deleteFrom('product_sizes')
            .where('sku', 'in', slice.map((p) => p.sku))
            .execute();
          const sizeRows = slice.flatMap((p) =>
            p.sizes.map((s, position) => ({ sku: p.sku, size: s.size, position, stock: s.stock })),
          );
          for (const sizeSlice of chunks(sizeRows, SIZES_PER_STATEMENT)) {
            await trx.insertInto('product_sizes').values(sizeSlice).execute();
          }
          for (const [sku, refs] of await recordPriceChanges(trx, slice, now)) references.set(sku, refs);
        }
      });
      return products.map((p) => withReferencePrices(p, references.get(p.sku) ?? {}));
    },

    async get(sku, executor = db) {
      return (await load(executor, [sku])).get(sku);
    },

    async getMany(skus, executor = db) {
      const found = await load(executor, skus);
      return [...new Set(skus)].flatMap((sku) => {
        const p = found.get(sku);
        return p ? [p] : [];
      });
    },

    async list() {
      const rows = await db.selectFrom('products').selectAll().orderBy('sku').execute();
      const sizes = await db.selectFrom('product_sizes').selectAll().orderBy('sku').orderBy('position').execute();
      const bySku = groupSizes(sizes);
      return rows.map((row) => toProduct(row, bySku.get(row.sku) ?? []));
    },

    async priceHistory(sku, options = {}) {
      const days = options.days ?? 90;
      const limit = options.limit ?? 100;
      const now = clock().getTime();
      const from = new Date(now - days * 24 * 60 * 60 * 1000).toISOString();
      const markets = (await loadPricePoints(db, [sku], { from, to: new Date(now).toISOString() })).get(sku) ?? new Map<string, PricePoint[]>();
      return Object.fromEntries([...markets].map(([currency, points]) => [currency, points.slice(-limit).reverse()]));
    },

    async referencePricesAt(skus, at = clock()) {
      const to = at.toISOString();
      const history = await loadPricePoints(db, [...new Set(skus)], { to });
      const out = new Map<string, Record<string, ReferencePrice>>();
      for (const [sku, markets] of history) {
        const references: Record<string, ReferencePrice> = {};
        for (const [currency, points] of markets) {
          const reference = referencePriceAt(points, to);
          if (reference) references[currency] = reference;
        }
        out.set(sku, references);
      }
      return out;
    },

    async decrementStock(executor = db, sku, size, quantity) {
      positive(quantity);
      const result = await executor
        .updateTable('product_sizes')
        .set((eb) => ({ stock: eb('stock', '-', quantity) }))
        .where('sku', '=', sku)
        .where('size', '=', size)
        .where('stock', '>=', quantity)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async incrementStock(executor = db, sku, size, quantity) {
      positive(quantity);
      const result = await executor.updateTable('product_sizes').set((eb) => ({ stock: eb('stock', '+', quantity) })).where('sku', '=', sku).where('size', '=', size).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

function toRow(p: Product, now: string): ProductsTable {
  return {
    sku: p.sku,
    title: p.title,
    description: p.description ?? null,
    category: p.category ?? null,
    price_minor: toMinor(p.price, p.currency),
    compare_at_price_minor: p.compareAtPrice === undefined ? null : toMinor(p.compareAtPrice, p.currency),
    currency: p.currency,
    market_prices: toMinorJson(p.prices),
    compare_at_prices: toMinorJson(p.compareAtPrices),
    // Written by recordPriceChanges once the history is; an update leaves the column alone.
    reference_prices: '{}',
    image: p.image ?? null,
    url: p.url,
    tags: toJsonText(p.tags),
    new_arrival: p.newArrival ? 1 : 0,
    created_at: now,
    updated_at: now,
  };
}

function toMinorJson(amounts: Record<string, number> | undefined): string {
  return toJsonText(Object.fromEntries(Object.entries(amounts ?? {}).map(([c, amount]) => [c, toMinor(amount, c)])));
}

function withReferencePrices<P extends Product>(product: P, references: ReferencePrices): P & CatalogProduct {
  return Object.keys(references).length ? { ...product, referencePrices: references } : product;
}

function groupSizes(rows: Selectable<ProductSizesTable>[]): Map<string, Product['sizes']> {
  const bySku = new Map<string, Product['sizes']>();
  for (const r of rows) {
    let list = bySku.get(r.sku);
    if (!list) bySku.set(r.sku, (list = []));
    list.push({ size: r.size, stock: r.stock });
  }
  return bySku;
}

function toProduct(row: Selectable<ProductsTable>, sizes: Product['sizes']): CatalogProduct {
  const product: Product = {
    sku: row.sku,
    title: row.title,
    ...(row.description === null ? {} : { description: row.description }),
    ...(row.category === null ? {} : { category: row.category }),
    price: fromMinor(row.price_minor, row.currency),
    ...(row.compare_at_price_minor === null
      ? {}
      : { compareAtPrice: fromMinor(row.compare_at_price_minor, row.currency) }),
    currency: row.currency,
    ...fromMinorJson('prices', row.market_prices),
    ...fromMinorJson('compareAtPrices', row.compare_at_prices),
    ...(row.image === null ? {} : { image: row.image }),
    url: row.url,
    sizes,
    tags: fromJsonText<string[]>(row.tags),
    newArrival: row.new_arrival === 1,
  };
  return withReferencePrices(product, fromJsonText<ReferencePrices>(row.reference_prices));
}

/** A JSON column of minor units per currency as the product field of decimal amounts; absent when empty. */
function fromMinorJson<K extends 'prices' | 'compareAtPrices'>(field: K, json: string): { [F in K]?: Record<string, number> } {
  const entries = Object.entries(fromJsonText<Record<string, number>>(json));
  return (entries.length ? { [field]: Object.fromEntries(entries.map(([c, m]) => [c, fromMinor(m, c)])) } : {}) as { [F in K]?: Record<string, number> };
}

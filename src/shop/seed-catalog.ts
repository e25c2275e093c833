import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProductInput, Store } from '../store/index.ts';
import { createProductsRepository } from '../store/products-repository.ts';
import { fromMinor } from '../commerce/money.ts';
import { productBatchSchema } from '../commerce/product-schema.ts';
import { readSampleHistory, type SampleHistory } from '../commerce/sample-price-history.ts';

/**
 * Stores the sample catalog (fixtures/catalog.json) in an empty catalog, with its price history
 * (fixtures/price-history.json): each earlier price is written through the catalog's own
 * upsert at the time it took effect, as the shop's `PUT`s would have recorded it, then the
 * catalog as it is now. So the demo, and the tests that open an app on the sample data, know
 * the same 30-day prior prices as the preview and the fixture renders. Returns how many
 * products were stored (0 when the catalog already had products).
 *
 * @example
 * await seedFixtureCatalog(store, config.fixturesDir) // 20 on a fresh database, 0 afterwards
 */
export async function seedFixtureCatalog(store: Pick<Store, 'db' | 'products'>, fixturesDir: string): Promise<number> {
  const any = await store.db.selectFrom('products').select('sku').limit(1).executeTakeFirst();
  if (any) return 0;
  const file = join(fixturesDir, 'catalog.json');
  // upsertMany validates every product and names the bad one; parsed here first for the history check.
  const catalog = productBatchSchema.parse(JSON.parse(readFileSync(file, 'utf8')) as ProductInput[]);
  const history = readSampleHistory(fixturesDir, catalog);
  for (const [at, products] of earlierCatalogs(catalog, history)) {
    await createProductsRepository(store.db, () => new Date(at)).upsertMany(products);
  }
  return (await store.products.upsertMany(catalog)).length;
}

/**
 * The sample products as each earlier `PUT` would have sent them, by time: at every moment a
 * point of the history takes effect, the products with a point then, each with the prices of
 * its markets in effect at that moment. Compare-at prices are left out: they are checked
 * against today's prices, and only the prices make the history.
 */
function earlierCatalogs(catalog: readonly ProductInput[], history: SampleHistory): [string, ProductInput[]][] {
  const times = new Map<string, Set<string>>();
  for (const [sku, markets] of history) {
    for (const points of markets.values()) {
      for (const p of points) {
        let skus = times.get(p.validFrom);
        if (!skus) times.set(p.validFrom, (skus = new Set()));
        skus.add(sku);
      }
    }
  }
  const bySku = new Map(catalog.map((p) => [p.sku, p]));
  return [...times.keys()].sort().map((at) => [
    at,
    [...times.get(at)!].map((sku) => {
      const { compareAtPrice: _c, compareAtPrices: _cs, ...product } = bySku.get(sku)!;
      const prices: Record<string, number> = {};
      let price = product.price;
      for (const [currency, points] of history.get(sku)!) {
        const inEffect = points.filter((p) => p.validFrom <= at).at(-1);
        if (inEffect === undefined || inEffect.priceMinor === null) continue;
        const amount = fromMinor(inEffect.priceMinor, currency);
        if (currency === product.currency) price = amount;
        else prices[currency] = amount;
      }
      return { ...product, price, prices };
    }),
  ]);
}

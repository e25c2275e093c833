import type { Request, Response } from 'express';
import { fromMinor } from '../../commerce/money.ts';
import { productBatchSchema, type CatalogProduct, type PricePoint, type Product, type ReferencePrice, type Store } from '../../store/index.ts';
import type { CatalogCache } from '../../render-service/catalog-cache.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';

/** PUT /v1/catalog/products and GET /v1/catalog/products/:sku. */
export function catalogRoutes(o: {
  store: Store;
  catalog: CatalogCache;
  /** Writes the products; the triggers' write records the price drops and restocks it causes in the same transaction. */
  write?: (products: readonly Product[]) => Promise<CatalogProduct[]>;
}) {
  const write = o.write ?? ((products: readonly Product[]) => o.store.products.upsertMany(products));
  return {
    /**
     * Validates the whole list before writing and writes it in one transaction: a bad product
     * anywhere stores nothing, and the 400 names its index and field (`3.price`).
     */
    upsert: async (req: Request, res: Response) => {
      const parsed = productBatchSchema.safeParse(req.body);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The product list');
      const stored = await write(parsed.data);
      o.catalog.put(stored);
      res.json({ count: stored.length, skus: stored.map((p) => p.sku) });
    },

    /**
     * Read from the store, not the cache, so it shows writes made through other instances.
     * The product in API amounts (decimal, like the PUT), with its price history per market
     * (api-schemas.ts `productDetailSchema`); the minor-unit `referencePrices` the render reads
     * are the same facts and stay internal.
     */
    get: async (req: Request<{ sku: string }>, res: Response) => {
      const sku = req.params.sku;
      const [product, history, references] = await Promise.all([
        o.store.products.get(sku),
        o.store.products.priceHistory(sku),
        o.store.products.referencePricesAt([sku]),
      ]);
      if (!product) {
        throw new HttpError(404, 'unknown_sku', `No product with sku '${sku}' in the catalog. PUT /v1/catalog/products adds it.`);
      }
      const { referencePrices: _internal, ...body } = product;
      const priceHistory = Object.fromEntries(
        Object.entries(history).map(([currency, points]) => [currency, marketHistory(currency, points, references.get(sku)?.[currency])]),
      );
      res.json({ ...body, priceHistory });
    },
  };
}

/** One market's history as the API shows it: decimal amounts, newest first. */
function marketHistory(currency: string, newestFirst: readonly PricePoint[], reference: ReferencePrice | undefined) {
  const amount = (minor: number | null) => (minor === null ? null : fromMinor(minor, currency));
  const current = newestFirst[0]!;
  return {
    price: amount(current.priceMinor),
    since: current.validFrom,
    lowest30d: amount(reference?.lowest30dMinor ?? null),
    changes: newestFirst.map((p) => ({ price: amount(p.priceMinor), validFrom: p.validFrom })),
  };
}

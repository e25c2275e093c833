import type { Request, Response } from 'express';
import { productBatchSchema, type Store } from '../../store/index.ts';
import type { CatalogCache } from '../catalog-cache.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';

/** PUT /v1/catalog/products and GET /v1/catalog/products/:sku. */
export function catalogRoutes(o: { store: Store; catalog: CatalogCache }) {
  return {
    /**
     * Validates the whole list before writing and writes it in one transaction: a bad product
     * anywhere stores nothing, and the 400 names its index and field (`3.price`).
     */
    upsert: async (req: Request, res: Response) => {
      const parsed = productBatchSchema.safeParse(req.body);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The product list');
      const stored = await o.store.products.upsertMany(parsed.data);
      o.catalog.put(stored);
      res.json({ count: stored.length, skus: stored.map((p) => p.sku) });
    },

    /** Read from the store, not the cache, so it shows writes made through other instances. */
    get: async (req: Request<{ sku: string }>, res: Response) => {
      const product = await o.store.products.get(req.params.sku);
      if (!product) {
        throw new HttpError(404, 'unknown_sku', `No product with sku '${req.params.sku}' in the catalog. PUT /v1/catalog/products adds it.`);
      }
      res.json(product);
    },
  };
}

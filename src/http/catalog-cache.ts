import type { Product as RenderProduct } from '../personalize/recommendations-schema.ts';
import type { Product as StoreProduct, ProductsRepository } from '../store/index.ts';

/**
 * The catalog as the render path reads it: a synchronous map in front of the store. The store
 * is the source of truth; this is loaded once at start and updated with every product this
 * instance upserts, so a render never waits on the database.
 */
export class CatalogCache {
  private readonly bySku = new Map<string, RenderProduct>();

  constructor(private readonly products: Pick<ProductsRepository, 'list'>) {}

  /** Replaces the cache with the store's whole catalog. */
  async reload(): Promise<number> {
    const all = await this.products.list();
    this.bySku.clear();
    this.put(all);
    return all.length;
  }

  /** Catalog products are the strict level of the one product contract the render core reads. */
  put(products: readonly StoreProduct[]): void {
    for (const p of products) this.bySku.set(p.sku, p);
  }

  get(sku: string): RenderProduct | undefined {
    return this.bySku.get(sku);
  }

  get size(): number {
    return this.bySku.size;
  }
}


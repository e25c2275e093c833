import type { Product as RenderProduct } from '../personalize/recommendations-schema.ts';
import type { Product as StoreProduct, ProductsRepository } from '../store/index.ts';

export interface CatalogCacheOptions {
  /**
   * How old the copy may get before a lookup refreshes it in the background. Other instances
   * (several services on one PostgreSQL) upsert products and take stock too; they show up here
   * within this time. Default 30 s.
   */
  maxAgeMs?: number;
  now?: () => number;
  /** Background refresh failures: the old copy keeps serving. */
  onError?: (error: unknown) => void;
}

/**
 * The catalog as the render path reads it: a synchronous map in front of the store. The store
 * is the source of truth (orders are always priced from it); this copy is loaded at start,
 * updated with every product this instance writes, and refreshed in the background when it
 * gets older than `maxAgeMs`, so a render never waits on the database.
 */
export class CatalogCache {
  private bySku = new Map<string, RenderProduct>();
  private loadedAt = 0;
  private pending: Promise<number> | undefined;
  private readonly putListeners: ((products: readonly StoreProduct[]) => void)[] = [];
  private readonly maxAge: number;
  private readonly now: () => number;

  constructor(
    private readonly products: Pick<ProductsRepository, 'list'>,
    private readonly options: CatalogCacheOptions = {},
  ) {
    this.maxAge = options.maxAgeMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Replaces the cache with the store's whole catalog (swapped in whole: no empty moment). */
  async reload(): Promise<number> {
    const started = this.now();
    const all = await this.products.list();
    const next = new Map<string, RenderProduct>();
    for (const p of all) next.set(p.sku, p);
    this.bySku = next;
    this.loadedAt = started;
    return all.length;
  }

  /** Catalog products are the strict level of the one product contract the render core reads. */
  put(products: readonly StoreProduct[]): void {
    for (const p of products) this.bySku.set(p.sku, p);
    for (const listener of this.putListeners) listener(products);
  }

  /** Called with every product this instance writes (batch render threads keep copies). */
  onPut(listener: (products: readonly StoreProduct[]) => void): void {
    this.putListeners.push(listener);
  }

  get(sku: string): RenderProduct | undefined {
    if (this.now() - this.loadedAt > this.maxAge && !this.pending) {
      this.pending = this.reload()
        .catch((error: unknown) => {
          this.options.onError?.(error);
          return 0;
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    return this.bySku.get(sku);
  }

  /** Resolves when a background refresh in flight (if any) is done: for shutdown and tests. */
  async idle(): Promise<void> {
    await this.pending;
  }

  get size(): number {
    return this.bySku.size;
  }
}

import type { CatalogProduct, ProductsRepository } from '../store/index.ts';

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
 * gets older than `maxAgeMs`, so a render never waits on the database. Products keep the
 * `referencePrices` the store derived from their price history: a render reads a market's
 * 30-day lowest price from here, and it stays right as the clock moves (it depends only on
 * when the current price took effect, which only a catalog write changes).
 */
export class CatalogCache {
  private bySku = new Map<string, CatalogProduct>();
  private loadedAt = 0;
  private pending: Promise<number> | undefined;
  private readonly putListeners: ((products: readonly CatalogProduct[]) => void)[] = [];
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
    const next = new Map<string, CatalogProduct>();
    for (const p of all) next.set(p.sku, p);
    this.bySku = next;
    this.loadedAt = started;
    return all.length;
  }

  /** Catalog products are the strict level of the one product contract the render core reads. */
  put(products: readonly CatalogProduct[]): void {
    for (const p of products) this.bySku.set(p.sku, p);
    for (const listener of this.putListeners) listener(products);
  }

  /** Called with every product this instance writes (batch render threads keep copies). */
  onPut(listener: (products: readonly CatalogProduct[]) => void): void {
    this.putListeners.push(listener);
  }

  get(sku: string): CatalogProduct | undefined {
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

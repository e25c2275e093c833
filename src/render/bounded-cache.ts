/**
 * A memo for per-recipient work whose inputs repeat across a campaign (the same catalog URLs,
 * prices and locales for millions of recipients). Cleared wholesale when full: simpler than
 * LRU, and a campaign's working set is far below the bound.
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max = 20_000) {}

  get(key: string, compute: () => V): V {
    let v = this.map.get(key);
    if (v === undefined && !this.map.has(key)) {
      if (this.map.size >= this.max) this.map.clear();
      v = compute();
      this.map.set(key, v);
    }
    return v as V;
  }
}

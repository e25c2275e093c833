import { LRUCache } from 'lru-cache';

/**
 * A memo for work whose inputs repeat across a campaign (the same catalog URLs, prices and
 * locales for millions of recipients): the value for `key`, made and kept on a miss, the
 * least recently used going first when `max` are kept (lru-cache).
 */
export class Memo<V extends {}> {
  readonly #cache: LRUCache<string, V>;

  constructor(max = 20_000) {
    this.#cache = new LRUCache<string, V>({ max });
  }

  get(key: string, make: () => V): V {
    let v = this.#cache.get(key);
    if (v === undefined) {
      v = make();
      this.#cache.set(key, v);
    }
    return v;
  }
}

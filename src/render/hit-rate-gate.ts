import { LRUCache } from 'lru-cache';

/**
 * Whether a cache pays for the campaign being rendered, and which misses it should keep: the
 * cohort cache (cohort-cache.ts) and the fragment cache (fragment-cache.ts) each have one.
 *
 * A hit saves a render, but a miss costs more than none: the cohort cache's marker view, JSON
 * key, render cut at the markers and ~100 KB kept; a card's key and cut. With recipients who
 * each have their own products (`npm run bench -- --scenario personal`) nearly every cohort
 * lookup missed, and renders ran 1.5× slower than with the cache off.
 *
 * So the gate counts the hits of the last `window` lookups. While at least `minHitRate` of
 * them hit, every render tries the cache and every miss is kept. Below it the gate closes:
 * renders go straight to the full render, and one in `probeEvery` still looks up, so a
 * campaign whose renders do repeat reopens the gate. A closed gate keeps a miss only when a
 * probe met the same key before (`admit`), so one-off entries are not stored.
 *
 * Which path a render takes never changes its output (the cache tests prove both equal).
 */
export interface GateOptions {
  window: number;
  minHitRate: number;
  probeEvery: number;
}

export class HitRateGate {
  private lookups = 0;
  private hits = 0;
  private open = true;
  private sinceProbe = 0;
  /** Keys probes met once while the gate was closed. */
  private readonly seen: LRUCache<string, true>;

  constructor(private readonly o: GateOptions) {
    this.seen = new LRUCache<string, true>({ max: o.window * 8 });
  }

  /** Whether this render should look the cache up. */
  tries(): boolean {
    if (this.open) return true;
    this.sinceProbe = (this.sinceProbe + 1) % this.o.probeEvery;
    return this.sinceProbe === 0;
  }

  record(hit: boolean): void {
    this.lookups++;
    if (hit) this.hits++;
    if (this.lookups < this.o.window) return;
    this.open = this.hits >= this.o.window * this.o.minHitRate;
    this.lookups = 0;
    this.hits = 0;
  }

  /** Whether a miss should be rendered for the cache and kept. */
  admit(key: string): boolean {
    if (this.open) return true;
    if (this.seen.has(key)) {
      this.seen.delete(key);
      return true;
    }
    this.seen.set(key, true);
    return false;
  }

  get isOpen(): boolean {
    return this.open;
  }
}

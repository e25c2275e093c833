import { LRUCache } from 'lru-cache';

/**
 * Whether the cohort cache (cohort-cache.ts) pays for the campaign being rendered, and which
 * misses it should keep.
 *
 * A hit costs ~1/8 of a full render, but a miss costs more than one (a marker view, a JSON
 * key, a render cut at the markers and ~100 KB kept): with recipients who each have their own
 * products (`npm run bench -- --scenario personal`) nearly every lookup missed and renders
 * ran 1.5× slower than with the cache off, and kept ~100 MB of entries nobody read.
 *
 * So the gate counts the hits of the last WINDOW lookups. While at least MIN_HIT_RATE of them
 * hit, every render tries its cohort and every miss is kept, as before. Below it the gate
 * closes: renders go straight to the full render, and one in PROBE_EVERY still looks its
 * cohort up, so a campaign whose recipients do share cohorts reopens the gate. A closed gate
 * keeps a miss only when a probe met the same key before (`admit`), so one-off cohorts are
 * not stored.
 *
 * Which path a render takes never changes its output (the cohort tests prove both equal).
 */
export class CohortGate {
  private lookups = 0;
  private hits = 0;
  private open = true;
  private sinceProbe = 0;
  /** Cohort keys probes met once while the gate was closed. */
  private readonly seen = new LRUCache<string, true>({ max: WINDOW * 8 });

  /** Whether this render should look its cohort up. */
  tries(): boolean {
    if (this.open) return true;
    this.sinceProbe = (this.sinceProbe + 1) % PROBE_EVERY;
    return this.sinceProbe === 0;
  }

  record(hit: boolean): void {
    this.lookups++;
    if (hit) this.hits++;
    if (this.lookups < WINDOW) return;
    this.open = this.hits >= WINDOW * MIN_HIT_RATE;
    this.lookups = 0;
    this.hits = 0;
  }

  /** Whether a missed cohort should be rendered with markers and kept. */
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

/**
 * Lookups per decision. Measured on `--scenario personal` and `--scenario cohort`: a hit saves
 * ~900 µs of a ~1,050 µs render and a miss costs ~300 µs more, so the cache pays from about a
 * quarter of hits.
 */
const WINDOW = 64;
const MIN_HIT_RATE = 0.25;
const PROBE_EVERY = 16;

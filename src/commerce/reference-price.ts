import { toMinor } from './money.ts';
import type { Product } from './product-schema.ts';

/**
 * Reference ("prior") prices from recorded facts. Directive 98/6/EC art. 6a, inserted by
 * Directive (EU) 2019/2161 (the Omnibus Directive):
 *   1. "Any announcement of a price reduction shall indicate the prior price applied by the
 *      trader for a determined period of time prior to the application of the price reduction."
 *   2. "The prior price means the lowest price applied by the trader during a period of time
 *      not shorter than 30 days prior to the application of the price reduction."
 * The CJEU (C-330/23, Aldi Süd, 26 September 2024) held that the announced reduction itself
 * (a percentage, a "price highlight") must be measured against that prior price.
 * @see https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:52021XC1229(06) (Commission guidance on art. 6a)
 */

/** The reference period of art. 6a(2): 30 × 24 hours. */
export const REFERENCE_PERIOD_MS = 30 * 24 * 60 * 60 * 1000;

/** One recorded price of one product in one market. */
export interface PricePoint {
  /** Minor units of the market's currency; null: the product stopped being offered in that market. */
  priceMinor: number | null;
  /** ISO-8601 UTC; the price applies from then until the market's next point. */
  validFrom: string;
}

/** A market's current price and the prior price a reduction to it would have to show. */
export interface ReferencePrice {
  /** The price in effect, minor units. */
  priceMinor: number;
  /** When that price took effect: "the application of the price reduction", if it is one. */
  since: string;
  /**
   * The lowest price applied in the 30 days before `since`, minor units; null when the
   * recorded history does not cover all of those 30 days (the product was not yet recorded in
   * that market, or was not offered in it for part of them): then there is no prior price, and
   * no reduction may be announced.
   */
  lowest30dMinor: number | null;
}

/** A reference price whose 30 days are covered: what catalog products carry. */
export type KnownReferencePrice = ReferencePrice & { lowest30dMinor: number };

/**
 * The reference price of one market at `at`, from its points in ascending `validFrom` order;
 * undefined when no price is in effect then (not yet recorded, or the market was ended).
 *
 * The period is the half-open interval [since − 30 days, since): every price in effect at any
 * moment of it counts, including the one already in effect when it began (set earlier), and the
 * price that takes effect at `since` does not. Fixed to `since`, not to `at`: the prior price of
 * a reduction stays the same however long the reduction runs, so the answer changes only when a
 * new point is recorded.
 *
 * @example
 * // 100 from day -31, 80 from day 0: at day 3 the price is 80, reduced from a prior price of 100.
 * referencePriceAt([{ priceMinor: 10000, validFrom: day(-31) }, { priceMinor: 8000, validFrom: day(0) }], day(3))
 * // → { priceMinor: 8000, since: day(0), lowest30dMinor: 10000 }
 */
export function referencePriceAt(points: readonly PricePoint[], at: Date | string): ReferencePrice | undefined {
  const atIso = typeof at === 'string' ? at : at.toISOString();
  let i = points.length - 1;
  while (i >= 0 && points[i]!.validFrom > atIso) i--;
  const current = points[i];
  if (current === undefined || current.priceMinor === null) return undefined;
  const since = current.validFrom;
  const periodStart = new Date(Date.parse(since) - REFERENCE_PERIOD_MS).toISOString();
  let lowest = Number.POSITIVE_INFINITY;
  // Walks back from the point before `current`; each one reached ends after periodStart (the
  // walk stops at the first that begins at or before it), so each was applied during the period.
  for (let j = i - 1; j >= 0; j--) {
    const point = points[j]!;
    if (point.priceMinor === null) break;
    lowest = Math.min(lowest, point.priceMinor);
    if (point.validFrom <= periodStart) return { priceMinor: current.priceMinor, since, lowest30dMinor: lowest };
  }
  return { priceMinor: current.priceMinor, since, lowest30dMinor: null };
}

/**
 * The prior price to announce a reduction against, in minor units: only when the 30 days are
 * covered and the current price is below the lowest of them (art. 6a; C-330/23). Undefined
 * means the message must not claim a reduction, whatever the compare-at price says.
 */
export function priorPriceMinor(reference: ReferencePrice | undefined): number | undefined {
  if (reference === undefined || reference.lowest30dMinor === null) return undefined;
  return reference.priceMinor < reference.lowest30dMinor ? reference.lowest30dMinor : undefined;
}

/**
 * A product's price per market, in minor units: its base `currency` and every `prices` entry.
 * A `prices` entry for the base currency wins, as in product-view.ts `marketPrice`, which is what
 * an order in that currency is charged.
 */
export function marketPricesMinor(product: Pick<Product, 'price' | 'currency' | 'prices'>): Record<string, number> {
  const markets: Record<string, number> = { [product.currency]: toMinor(product.price, product.currency) };
  for (const [currency, amount] of Object.entries(product.prices ?? {})) markets[currency] = toMinor(amount, currency);
  return markets;
}

import { describe, expect, it } from 'vitest';
import { marketPricesMinor, priorPriceMinor, referencePriceAt, type PricePoint } from '../../src/commerce/reference-price.ts';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
/** The instant `n` days (fractions allowed) after day 0. */
const day = (n: number) => new Date(T0 + n * DAY).toISOString();
const point = (price: number | null, atDay: number): PricePoint => ({ priceMinor: price, validFrom: day(atDay) });

describe('referencePriceAt (Directive 98/6/EC art. 6a: lowest price in the 30 days before the price took effect)', () => {
  // 100 from day -31, 80 from day 0, 120 from day 10, 90 from day 35, 70 from day 50.
  const history = [point(10000, -31), point(8000, 0), point(12000, 10), point(9000, 35), point(7000, 50)];

  it.each([
    // at day 0 the period is days -30..0: only 100 applied, recorded since day -31 → covered.
    [0, { priceMinor: 8000, since: day(0), lowest30dMinor: 10000 }, 10000],
    [5, { priceMinor: 8000, since: day(0), lowest30dMinor: 10000 }, 10000],
    // days -20..10: 100 until day 0, then 80 → 80; a rise to 120 is no reduction.
    [10, { priceMinor: 12000, since: day(10), lowest30dMinor: 8000 }, undefined],
    // days 5..35: 80 until day 10, then 120 → 80; 90 is above it, so no reduction may be
    // announced although the price just fell from 120.
    [35, { priceMinor: 9000, since: day(35), lowest30dMinor: 8000 }, undefined],
    // days 20..50: 120 until day 35, then 90 → 90: 70 is a reduction from 90, not from 120.
    [50, { priceMinor: 7000, since: day(50), lowest30dMinor: 9000 }, 9000],
    // Fixed to when the price took effect: 200 days on, the prior price of that reduction is the same.
    [250, { priceMinor: 7000, since: day(50), lowest30dMinor: 9000 }, 9000],
  ])('at day %s', (atDay, expected, prior) => {
    const reference = referencePriceAt(history, day(atDay));
    expect(reference).toEqual(expected);
    expect(priorPriceMinor(reference)).toBe(prior);
  });

  it('has no price before the first point, and a Date works like its ISO text', () => {
    expect(referencePriceAt(history, day(-32))).toBeUndefined();
    expect(referencePriceAt(history, new Date(T0 + 36 * DAY))).toEqual(referencePriceAt(history, day(36)));
    expect(referencePriceAt([], day(0))).toBeUndefined();
  });

  it('gives no prior price while the history is shorter than the 30 days before the change', () => {
    const young = [point(10000, 0), point(8000, 20)];
    expect(referencePriceAt(young, day(25))).toEqual({ priceMinor: 8000, since: day(20), lowest30dMinor: null });
    expect(priorPriceMinor(referencePriceAt(young, day(25)))).toBeUndefined();
    // The first price has no history before it at all.
    expect(referencePriceAt(young, day(1))).toEqual({ priceMinor: 10000, since: day(0), lowest30dMinor: null });
  });

  it('counts the 30 days as the half-open interval [since − 30 × 24 h, since)', () => {
    // Recorded exactly 30 days before the change: covered.
    expect(referencePriceAt([point(10000, 0), point(8000, 30)], day(30))?.lowest30dMinor).toBe(10000);
    // One millisecond short: not covered.
    const shortBy1ms = [point(10000, 0), { priceMinor: 8000, validFrom: new Date(T0 + 30 * DAY - 1).toISOString() }];
    expect(referencePriceAt(shortBy1ms, day(31))?.lowest30dMinor).toBeNull();
    // A price that ended exactly when the period began was not applied in it.
    expect(referencePriceAt([point(5000, -40), point(10000, 0), point(8000, 30)], day(30))?.lowest30dMinor).toBe(10000);
    // The price in effect when the period began counts although it was set earlier.
    expect(referencePriceAt([point(5000, -40), point(10000, 1), point(8000, 30)], day(30))?.lowest30dMinor).toBe(5000);
  });

  it('gives no prior price when the market was not offered during part of the 30 days, and none while it is ended', () => {
    // Dropped on day 5, offered again at 500 on day 10.
    const gap = [point(60000, -40), point(null, 5), point(50000, 10)];
    expect(referencePriceAt([...gap, point(40000, 30)], day(30))).toEqual({ priceMinor: 40000, since: day(30), lowest30dMinor: null });
    // By day 40 the 30 days (10..40) lie after the gap.
    expect(referencePriceAt([...gap, point(40000, 40)], day(40))).toEqual({ priceMinor: 40000, since: day(40), lowest30dMinor: 50000 });
    expect(referencePriceAt(gap, day(7))).toBeUndefined();
  });
});

describe('marketPricesMinor', () => {
  it('lists the base currency and every market price in minor units; a market entry for the base currency wins', () => {
    expect(marketPricesMinor({ price: 49.95, currency: 'EUR', prices: { SEK: 549.5, JPY: 8200 } })).toEqual({ EUR: 4995, SEK: 54950, JPY: 8200 });
    expect(marketPricesMinor({ price: 49.95, currency: 'EUR', prices: { EUR: 44.95 } })).toEqual({ EUR: 4495 });
    expect(marketPricesMinor({ price: 49.95, currency: 'EUR' })).toEqual({ EUR: 4995 });
  });
});

import { fromMinor } from '../commerce/money.ts';
import { marketPricesMinor } from '../commerce/reference-price.ts';
import type { CatalogProduct } from '../store/products-repository.ts';
import type { TriggerSettings } from './trigger-config.ts';
import type { Cause } from './trigger-fires.ts';

const DAY_MS = 86_400_000;

/**
 * The price drops one catalog write made: a market whose price this write lowered to at least
 * `minPercent` below the lowest price of the 30 days before the change (the reference price the
 * store recorded, reference-price.ts), so the alert can truthfully announce the reduction. A
 * product new to the catalog, or a market without 30 days of history, has no reference and
 * makes no drop. The cause is the price point itself (market and `since`): the same price
 * written again is no new cause.
 */
export function priceDropCauses(before: ReadonlyMap<string, CatalogProduct>, after: readonly CatalogProduct[], settings: TriggerSettings['price-drop']): Cause[] {
  const out: Cause[] = [];
  for (const product of after) {
    const previous = before.get(product.sku);
    if (!previous) continue;
    const was = marketPricesMinor(previous);
    const is = marketPricesMinor(product);
    for (const [currency, reference] of Object.entries(product.referencePrices ?? {})) {
      const priceMinor = is[currency];
      const wasMinor = was[currency];
      if (priceMinor === undefined || wasMinor === undefined || priceMinor >= wasMinor) continue;
      const lowest = reference.lowest30dMinor;
      // Integer arithmetic: (lowest − price) / lowest ≥ minPercent / 100.
      if ((lowest - priceMinor) * 100 < settings.minPercent * lowest) continue;
      out.push({
        trigger: 'price-drop',
        key: `${product.sku}|${currency}|${reference.since}`,
        subject: `${product.sku}|${currency}`,
        detail: {
          sku: product.sku,
          title: product.title,
          currency,
          price: fromMinor(priceMinor, currency),
          lowest30d: fromMinor(lowest, currency),
          percentBelowLowest30d: Math.floor(((lowest - priceMinor) * 100) / lowest),
          since: reference.since,
          viewedFrom: new Date(Date.parse(reference.since) - settings.windowDays * DAY_MS).toISOString(),
        },
      });
    }
  }
  return out;
}

/** Sizes this write took from no stock (or not listed) to some: each may answer who waits for it. */
export function restockedSizes(before: ReadonlyMap<string, CatalogProduct>, after: readonly CatalogProduct[]): { product: CatalogProduct; size: string; stock: number }[] {
  const out: { product: CatalogProduct; size: string; stock: number }[] = [];
  for (const product of after) {
    const previous = before.get(product.sku);
    for (const { size, stock } of product.sizes) {
      const had = previous?.sizes.find((s) => s.size === size)?.stock ?? 0;
      if (had === 0 && stock > 0) out.push({ product, size, stock });
    }
  }
  return out;
}

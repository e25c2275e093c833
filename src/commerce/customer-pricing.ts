import { formatMoney } from '../render/format.ts';
import { percentOffMinor } from './discount.ts';
import { fromMinor, toMinor } from '../store/money.ts';
import type { MessageOffer } from './amp-claims.ts';
import { unitPrice } from './price-order.ts';
import type { Product } from './product-schema.ts';

/** Whom a price is for: their market, their language, and the offer their message carries. */
export interface PricingFor {
  currency: string;
  /** BCP 47 tag Intl accepts. */
  intlLocale: string;
  offer?: MessageOffer;
}

export interface CustomerPrice {
  currency: string;
  /** What the customer pays for one unit, in minor units. */
  minor: number;
  /** The market price before the message's discount, in minor units. */
  listMinor: number;
  discounted: boolean;
}

/**
 * The unit price a customer pays: the catalog's market price for their currency, less the
 * discount their message promised for that product. Computed in minor units, so the price an
 * email shows at open time is to the cent the price the order is charged.
 */
export function customerPrice(product: Product, p: Pick<PricingFor, 'currency' | 'offer'>): CustomerPrice {
  const market = unitPrice(product, p.currency);
  const listMinor = toMinor(market.amount, market.currency);
  const offer = p.offer && p.offer.skus.has(product.sku) ? p.offer : undefined;
  const minor = offer ? percentOffMinor(listMinor, offer.percentOff) : listMinor;
  return { currency: market.currency, minor, listMinor, discounted: minor < listMinor };
}

export function money(minor: number, currency: string, intlLocale: string): { amount: number; text: string } {
  const amount = fromMinor(minor, currency);
  return { amount, text: formatMoney(amount, currency, intlLocale) };
}

/**
 * The "was" price for a sale item in the customer's market: the catalog's compare-at price is
 * in the base currency, so it scales with the market price (as the render does).
 */
export function compareAtMinor(product: Product, price: CustomerPrice): number | undefined {
  if (product.compareAtPrice === undefined || product.compareAtPrice <= product.price) return undefined;
  const scaled = Math.round((product.compareAtPrice / product.price) * price.listMinor);
  return scaled > price.listMinor ? scaled : undefined;
}

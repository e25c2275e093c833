import type { MessageOffer } from './amp-claims.ts';
import { formatMinor, percentOffMinor, toMinor } from './money.ts';
import { priorPriceMinor, type ReferencePrice } from './reference-price.ts';

/**
 * One product as a customer is shown it, the same in every part and channel: the email's
 * HTML, AMP and text parts (render/build-view.ts), the AMP email's live answer
 * (`/amp/v1/offers`, live-offer.ts), the WhatsApp templates (which read the email's view) and
 * the chat (conversation-engine.ts). Every amount in it is a catalog price, an offer price
 * computed from one, or a recorded price; none is converted between currencies.
 */

/**
 * What a view reads of a product: a catalog product (strict, with the reference prices the
 * store derived from its price history) or one a campaign system inlined (lenient, never with
 * reference prices: inboxcart has recorded no history for it).
 */
export interface ViewableProduct {
  sku: string;
  category?: string;
  price: number;
  currency: string;
  prices?: Readonly<Record<string, number>>;
  compareAtPrice?: number;
  compareAtPrices?: Readonly<Record<string, number>>;
  sizes: readonly { size: string; stock: number }[];
  referencePrices?: Readonly<Record<string, ReferencePrice>>;
}

/** Whom a view is for: their market, their language, the message's discount, their usual size. */
export interface ViewFor {
  /** The customer's market. A product without a price there is shown in its base currency. */
  currency: string;
  /** BCP 47 tag Intl accepts. */
  intlLocale: string;
  /** Percent off this product from the message's offer; undefined when none applies to it. */
  percentOff?: number;
  /** The size the customer buys most in the product's category. */
  preferredSize?: string;
}

export interface SizeState {
  size: string;
  inStock: boolean;
  /** The customer's usual size in this category. */
  preferred: boolean;
  /** Pre-selected: the usual size when in stock, else the first size in stock. */
  selected: boolean;
}

export interface ProductView {
  sku: string;
  /** The currency every amount below is in: the customer's market, or the base currency. */
  currency: string;
  /** The market price, before the message's discount: what the shop charges everyone now. */
  priceMinor: number;
  priceText: string;
  /** The price after the message's discount, when one applies to this product and takes something off. */
  offerPriceMinor?: number;
  offerPriceText?: string;
  /** The shop's compare-at price in this market (never another market's), when above the price. */
  compareAtMinor?: number;
  compareAtText?: string;
  /** A sale claim from a compare-at price (`compareAtText`). */
  onSale: boolean;
  /**
   * The lowest price of the 30 days before the current price took effect, when the current
   * price is below it (reference-price.ts `priorPriceMinor`): the only reference a message may
   * announce a price reduction against. Absent without 30 days of recorded history.
   */
  priorPriceMinor?: number;
  priorPriceText?: string;
  sizes: SizeState[];
  hasSizes: boolean;
  preferredSize?: string;
  selectedSize?: string;
  /** The customer's usual size is in stock and pre-selected ("your size M is in stock"). */
  preferredAvailable: boolean;
  soldOut: boolean;
  /** Units in stock of the selected size (undefined when nothing is in stock). */
  selectedStock?: number;
}

/** The market price of a product for a customer's currency: the shop's market price, else the base price. */
export function marketPrice(product: Pick<ViewableProduct, 'price' | 'currency' | 'prices'>, currency: string): { currency: string; minor: number } {
  const market = product.prices?.[currency];
  return market !== undefined ? { currency, minor: toMinor(market, currency) } : { currency: product.currency, minor: toMinor(product.price, product.currency) };
}

/** The percent off a message's offer grants on one product, if it covers it. */
export function percentOffFor(offer: MessageOffer | undefined, sku: string): number | undefined {
  return offer !== undefined && offer.skus.has(sku) ? offer.percentOff : undefined;
}

/**
 * What one unit costs the customer, in minor units: the market price less the message's
 * discount. Checkout (price-order.ts) charges this figure and every view shows it.
 */
export function unitPriceMinor(listMinor: number, percentOff: number | undefined): number {
  return percentOff ? percentOffMinor(listMinor, percentOff) : listMinor;
}

/**
 * The shop's compare-at price for the market a product is priced in: `compareAtPrices` for
 * that currency, or `compareAtPrice` in the base currency. Only above the price: one at or
 * below it claims a saving that is not there.
 */
export function compareAtMinor(product: Pick<ViewableProduct, 'currency' | 'compareAtPrice' | 'compareAtPrices'>, price: { currency: string; minor: number }): number | undefined {
  const amount = product.compareAtPrices?.[price.currency] ?? (price.currency === product.currency ? product.compareAtPrice : undefined);
  if (amount === undefined) return undefined;
  const minor = toMinor(amount, price.currency);
  return minor > price.minor ? minor : undefined;
}

/**
 * The 30-day prior price of the market price shown, from the recorded history. The history's
 * current price must be that price: a product whose reference was derived for another price
 * (an inline product carrying one, a copy a write behind) announces nothing.
 */
export function priorPriceFor(product: Pick<ViewableProduct, 'referencePrices'>, price: { currency: string; minor: number }): number | undefined {
  const reference = product.referencePrices?.[price.currency];
  const prior = priorPriceMinor(reference);
  return prior !== undefined && reference!.priceMinor === price.minor ? prior : undefined;
}

/**
 * @example
 * productView(catalog.get('NL-TOP-002'), { currency: 'SEK', intlLocale: 'sv', percentOff: 15, preferredSize: 'M' })
 * // { currency: 'SEK', priceMinor: 76900, priceText: '769,00 kr', offerPriceMinor: 65365, offerPriceText: '653,65 kr', … }
 */
export function productView(product: ViewableProduct, f: ViewFor): ProductView {
  return withSizes(pricedView(product, f), product.sizes, f.preferredSize);
}

/** The fields of a product view that depend on the customer's usual size. */
export type SizedFields = Pick<ProductView, 'sizes' | 'hasSizes' | 'preferredSize' | 'selectedSize' | 'preferredAvailable' | 'soldOut' | 'selectedStock'>;

/**
 * A product view's prices, for a market and offer but no customer's size yet: messages that
 * show the same product in the same market share it and add their sizes (`withSizes`).
 */
export function pricedView(product: ViewableProduct, f: Omit<ViewFor, 'preferredSize'>): Omit<ProductView, keyof SizedFields> {
  const price = marketPrice(product, f.currency);
  const { currency } = price;
  const discounted = f.percentOff ? unitPriceMinor(price.minor, f.percentOff) : undefined;
  // A discount too small to take a minor unit off (1 % of €0.49) is no reduction to show.
  const offerMinor = discounted !== undefined && discounted < price.minor ? discounted : undefined;
  const compareAt = compareAtMinor(product, price);
  const prior = priorPriceFor(product, price);
  return {
    sku: product.sku,
    currency,
    priceMinor: price.minor,
    priceText: formatMinor(price.minor, currency, f.intlLocale),
    offerPriceMinor: offerMinor,
    offerPriceText: offerMinor === undefined ? undefined : formatMinor(offerMinor, currency, f.intlLocale),
    compareAtMinor: compareAt,
    compareAtText: compareAt === undefined ? undefined : formatMinor(compareAt, currency, f.intlLocale),
    onSale: compareAt !== undefined,
    priorPriceMinor: prior,
    priorPriceText: prior === undefined ? undefined : formatMinor(prior, currency, f.intlLocale),
  };
}

/** A priced view with the sizes as a customer sees them: their usual size pre-selected when in stock, else the first in stock. */
export function withSizes<P extends Omit<ProductView, keyof SizedFields>>(priced: P, sizes: ViewableProduct['sizes'], preferred: string | undefined): P & SizedFields {
  return { ...priced, ...sizeFields(sizes, preferred) };
}

/** The size fields alone (`withSizes`), for callers that write their view out field by field. */
export function sizeFields(sizes: ViewableProduct['sizes'], preferred: string | undefined): SizedFields {
  let selected: string | undefined;
  let firstInStock: { size: string; stock: number } | undefined;
  for (const s of sizes) {
    if (s.stock <= 0) continue;
    firstInStock ??= s;
    if (s.size === preferred) selected = preferred;
  }
  selected ??= firstInStock?.size;
  return {
    sizes: sizes.map((s) => ({ size: s.size, inStock: s.stock > 0, preferred: s.size === preferred, selected: s.size === selected })),
    hasSizes: sizes.length > 1,
    preferredSize: preferred,
    selectedSize: selected,
    preferredAvailable: preferred !== undefined && selected === preferred,
    soldOut: firstInStock === undefined,
    selectedStock: selected === undefined ? undefined : sizes.find((s) => s.size === selected)?.stock,
  };
}

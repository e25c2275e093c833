import { checkUrl } from '../shared/safe-url.ts';
import type { CartItem } from '../store/carts-repository.ts';
import type { MessageOffer } from '../commerce/amp-claims.ts';
import { formatMinor, fromMinor, toMinor } from '../commerce/money.ts';
import { marketPrice, percentOffFor, unitPriceMinor } from '../commerce/product-view.ts';
import type { Product } from '../commerce/product-schema.ts';

export interface CartSummaryLine {
  sku: string;
  title: string;
  size: string;
  quantity: number;
  image: string;
  /** False when the product or size left the catalog; such a line blocks checkout until removed. */
  available: boolean;
  unitPriceText: string;
  lineTotalText: string;
}

/** The customer's one cart as an AMP email renders it with amp-mustache. */
export interface CartSummary {
  items: CartSummaryLine[];
  count: number;
  empty: boolean;
  currency: string;
  subtotal: number;
  subtotalText: string;
  freeShipping?: { thresholdText: string; remainingText: string; percent: number; reached: boolean };
}

export interface CartContext {
  /** The customer's market. */
  currency: string;
  /** BCP 47 tag Intl accepts. */
  intlLocale: string;
  /** The discount the message's token grants, on the products it offered. */
  offer?: MessageOffer;
  /** Order value that ships free, per currency (templates/brand.json `freeShippingThreshold`). */
  freeShippingThreshold: Readonly<Record<string, number>>;
  placeholderImage: string;
}

/**
 * Prices every line from the catalog for the customer's market (and their message's offer),
 * with the distance to free shipping.
 */
export function cartSummary(items: readonly CartItem[], products: readonly Product[], c: CartContext): CartSummary {
  const bySku = new Map(products.map((p) => [p.sku, p]));
  let currency = c.currency;
  let subtotalMinor = 0;
  let priced = false;
  const lines: CartSummaryLine[] = items.map((item) => {
    const product = bySku.get(item.sku);
    const size = product?.sizes.find((s) => s.size === item.size);
    if (!product || !size) {
      return { sku: item.sku, title: product?.title ?? item.sku, size: item.size, quantity: item.quantity, image: c.placeholderImage, available: false, unitPriceText: '', lineTotalText: '' };
    }
    const price = marketPrice(product, c.currency);
    const unitMinor = unitPriceMinor(price.minor, percentOffFor(c.offer, product.sku));
    // A product without a price in the customer's market is priced in the catalog's base
    // currency, and one order cannot mix currencies: such a line cannot be bought with the rest.
    if (priced && price.currency !== currency) {
      return { sku: item.sku, title: product.title, size: item.size, quantity: item.quantity, image: c.placeholderImage, available: false, unitPriceText: '', lineTotalText: '' };
    }
    priced = true;
    currency = price.currency;
    subtotalMinor += unitMinor * item.quantity;
    return {
      sku: item.sku,
      title: product.title,
      size: item.size,
      quantity: item.quantity,
      image: checkUrl(product.image, 'image')?.href ?? c.placeholderImage,
      available: true,
      unitPriceText: formatMinor(unitMinor, price.currency, c.intlLocale),
      lineTotalText: formatMinor(unitMinor * item.quantity, price.currency, c.intlLocale),
    };
  });
  const threshold = c.freeShippingThreshold[currency];
  let freeShipping: CartSummary['freeShipping'];
  if (threshold !== undefined) {
    const thresholdMinor = toMinor(threshold, currency);
    const remainingMinor = Math.max(0, thresholdMinor - subtotalMinor);
    freeShipping = {
      thresholdText: formatMinor(thresholdMinor, currency, c.intlLocale),
      remainingText: formatMinor(remainingMinor, currency, c.intlLocale),
      percent: thresholdMinor > 0 ? Math.min(100, Math.round((subtotalMinor / thresholdMinor) * 100)) : 100,
      reached: remainingMinor === 0,
    };
  }
  return {
    items: lines,
    count: lines.reduce((n, l) => n + l.quantity, 0),
    empty: lines.length === 0,
    currency,
    subtotal: fromMinor(subtotalMinor, currency),
    subtotalText: formatMinor(subtotalMinor, currency, c.intlLocale),
    ...(freeShipping ? { freeShipping } : {}),
  };
}

import type { Product } from '../commerce/product-schema.ts';
import type { OrderLine } from '../store/orders-repository.ts';
import type { MessageOffer } from '../commerce/amp-claims.ts';
import { marketPrice, percentOffFor, unitPriceMinor } from '../commerce/product-view.ts';

export interface RequestedLine {
  sku: string;
  size: string;
  quantity: number;
}

export type PricingResult =
  | { ok: true; currency: string; lines: OrderLine[]; totalMinor: number }
  | { ok: false; code: 'unknown_product' | 'unknown_size' | 'out_of_stock' | 'mixed_currency' | 'empty'; sku?: string; size?: string; message: string };

/**
 * Prices order lines from the catalog, never from anything a client sent: only SKU, size and
 * quantity come from the request. Stock is checked here for a friendly answer; the atomic
 * decrement in placeOrder is what actually guarantees it.
 *
 * @example
 * priceOrder(await store.products.getMany(['NL-TOP-001']), [{ sku: 'NL-TOP-001', size: 'M', quantity: 1 }], 'SEK')
 */
export function priceOrder(
  catalog: readonly Product[],
  requested: readonly RequestedLine[],
  customerCurrency: string,
  /** The discount the customer's message showed, charged on its products (email and chat alike). */
  offer?: MessageOffer,
): PricingResult {
  if (requested.length === 0) return { ok: false, code: 'empty', message: 'There is nothing to order.' };
  const bySku = new Map(catalog.map((p) => [p.sku, p]));
  const lines: OrderLine[] = [];
  let currency: string | undefined;
  let totalMinor = 0;
  for (const r of requested) {
    const product = bySku.get(r.sku);
    if (!product) return { ok: false, code: 'unknown_product', sku: r.sku, message: `Product ${r.sku} is not sold any more.` };
    const size = product.sizes.find((s) => s.size === r.size);
    if (!size) return { ok: false, code: 'unknown_size', sku: r.sku, size: r.size, message: `${product.title} has no size ${r.size}.` };
    if (size.stock < r.quantity) {
      return { ok: false, code: 'out_of_stock', sku: r.sku, size: r.size, message: `${product.title} in size ${r.size} is sold out.` };
    }
    // The market price and the message's discount exactly as every product view shows them.
    const price = marketPrice(product, customerCurrency);
    if (currency !== undefined && currency !== price.currency) {
      return { ok: false, code: 'mixed_currency', sku: r.sku, message: 'These products cannot be bought together in one currency.' };
    }
    currency = price.currency;
    const unit = unitPriceMinor(price.minor, percentOffFor(offer, r.sku));
    totalMinor += unit * r.quantity;
    lines.push({ sku: r.sku, size: r.size, quantity: r.quantity, unitPriceMinor: unit, title: product.title });
  }
  return { ok: true, currency: currency!, lines, totalMinor };
}

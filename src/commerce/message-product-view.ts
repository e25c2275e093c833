import type { z } from 'zod';
import { plainText } from '../shared/plain-text.ts';
import { checkUrl } from '../shared/safe-url.ts';
import { formatMinor, toMinor } from './money.ts';
import type { productShape } from '../personalize/product-shape.ts';
import { pricedView, sizeFields, type ProductView as SharedProductView, type SizedFields, type ViewableProduct } from './product-view.ts';

/**
 * A product as a message shows it: the one product view every channel shares (prices, sizes,
 * stock: product-view.ts) plus its text, checked links and, on WhatsApp, its payload.
 */
export interface ProductView extends SharedProductView {
  title: string;
  description?: string;
  category?: string;
  reason?: string;
  url: string;
  image: string;
  newArrival: boolean;
  /** Signed WhatsApp payload id for choosing this product (list rows, buy buttons). */
  payload?: string;
}

export interface CartLineView extends ProductView {
  quantity: number;
  size?: string;
  lineTotalText: string;
}

export interface CartView {
  items: CartLineView[];
  count: number;
  subtotalMinor: number;
  subtotalText: string;
  freeShipping?: { thresholdMinor: number; thresholdText: string; remainingMinor: number; remainingText: string; percent: number; reached: boolean };
}

/** A product the render shows: one a campaign inlined, or a catalog product with its reference prices. */
export type CatalogEntry = z.infer<typeof productShape> & Pick<ViewableProduct, 'referencePrices'>;

/** Whom and where a message shows its products: market, language, offer, channel. */
export interface MessageProductContext {
  currency: string;
  intlLocale: string;
  percentOff?: number;
  /** WhatsApp: data strings made plain (plain-text.ts); HTML and AMP escape at output instead. */
  plain: boolean;
  placeholderImage: string;
}

/** What is wrong with a product's URLs (shown as warnings; the product goes out with safe ones). */
export function productUrlProblems(product: Pick<CatalogEntry, 'sku' | 'image' | 'url'>): string[] {
  const found: string[] = [];
  if (product.image !== undefined && !checkUrl(product.image, 'image')) found.push(`product ${product.sku}: image rejected (images must be https)`);
  if (!checkUrl(product.url, 'link')) found.push(`product ${product.sku}: link rejected (only http(s) URLs)`);
  return found;
}

/** What the messages that show a product in one market, offer, channel and campaign share: all but the size and the reason. */
export type MessageProductBase = Omit<ProductView, keyof SizedFields | 'reason' | 'payload'>;

/**
 * The shared product view's prices (product-view.ts) with the message's text and links around
 * them (`url`: the product link, checked and tagged with the campaign's parameters). A
 * recipient's view adds their size and the reason (`messageProductView`).
 */
export function messageProductBase(product: CatalogEntry, url: string, c: MessageProductContext): MessageProductBase {
  const v = pricedView(product, { currency: c.currency, intlLocale: c.intlLocale, percentOff: c.percentOff });
  const txt = c.plain ? plainText : (s: string) => s;
  const image = product.image === undefined ? undefined : checkUrl(product.image, 'image')?.href;
  return {
    sku: v.sku,
    title: txt(product.title),
    description: product.description === undefined ? undefined : txt(product.description),
    category: product.category,
    url,
    image: image ?? c.placeholderImage,
    currency: v.currency,
    priceMinor: v.priceMinor,
    priceText: v.priceText,
    offerPriceMinor: v.offerPriceMinor,
    offerPriceText: v.offerPriceText,
    compareAtMinor: v.compareAtMinor,
    compareAtText: v.compareAtText,
    onSale: v.onSale,
    priorPriceMinor: v.priorPriceMinor,
    priorPriceText: v.priorPriceText,
    newArrival: product.newArrival,
  };
}

/**
 * A recipient's view of a product: the shared base with their usual size pre-selected and the
 * reason it is recommended. Written out field by field rather than spread: every view then has
 * one shape, which the templates' property lookups (once per field, product and recipient) run
 * faster on.
 */
export function messageProductView(base: MessageProductBase, product: CatalogEntry, preferred: string | undefined, reason: string | undefined, plain: boolean): ProductView {
  const s = sizeFields(product.sizes, preferred);
  return {
    sku: base.sku,
    title: base.title,
    description: base.description,
    category: base.category,
    reason: reason === undefined ? undefined : plain ? plainText(reason) : reason,
    url: base.url,
    image: base.image,
    currency: base.currency,
    priceMinor: base.priceMinor,
    priceText: base.priceText,
    offerPriceMinor: base.offerPriceMinor,
    offerPriceText: base.offerPriceText,
    compareAtMinor: base.compareAtMinor,
    compareAtText: base.compareAtText,
    onSale: base.onSale,
    priorPriceMinor: base.priorPriceMinor,
    priorPriceText: base.priorPriceText,
    newArrival: base.newArrival,
    sizes: plain ? s.sizes.map((z) => ({ ...z, size: plainText(z.size) })) : s.sizes,
    hasSizes: s.hasSizes,
    preferredSize: s.preferredSize,
    selectedSize: s.selectedSize,
    preferredAvailable: s.preferredAvailable,
    soldOut: s.soldOut,
    selectedStock: s.selectedStock,
    // Present (unset) on every view, so the per-message copy that sets it keeps the same shape.
    payload: undefined,
  };
}

/**
 * A cart as a message shows it: each line at the market price (the message's discount covers
 * the products it offered, not the cart, as checkout prices it), the subtotal, and how far the
 * cart is from the brand's free-shipping threshold in its currency.
 */
export function cartView(
  lines: readonly { view: ProductView; line: { quantity: number; size?: string } }[],
  c: Pick<MessageProductContext, 'currency' | 'intlLocale'>,
  freeShippingThreshold: Readonly<Record<string, number>>,
): CartView {
  const { currency, intlLocale } = c;
  const items: CartLineView[] = [];
  let subtotalMinor = 0;
  let lineCurrency: string | undefined;
  for (const { view, line } of lines) {
    lineCurrency = view.currency;
    const totalMinor = view.priceMinor * line.quantity;
    subtotalMinor += totalMinor;
    items.push(Object.freeze({ ...view, quantity: line.quantity, size: line.size === undefined ? undefined : view.sizes.find((s) => s.size === line.size)?.size ?? line.size, lineTotalText: formatMinor(totalMinor, view.currency, intlLocale) }));
  }
  Object.freeze(items);
  const total = lineCurrency ?? currency;
  const threshold = freeShippingThreshold[total];
  const thresholdMinor = threshold === undefined ? undefined : toMinor(threshold, total);
  const remainingMinor = thresholdMinor === undefined ? undefined : Math.max(0, thresholdMinor - subtotalMinor);
  return {
    items,
    count: items.reduce((n, i) => n + i.quantity, 0),
    subtotalMinor,
    subtotalText: formatMinor(subtotalMinor, total, intlLocale),
    freeShipping:
      thresholdMinor !== undefined && remainingMinor !== undefined
        ? Object.freeze({
            thresholdMinor,
            thresholdText: formatMinor(thresholdMinor, total, intlLocale),
            remainingMinor,
            remainingText: formatMinor(remainingMinor, total, intlLocale),
            percent: thresholdMinor > 0 ? Math.min(100, Math.round((subtotalMinor / thresholdMinor) * 100)) : 100,
            reached: remainingMinor === 0,
          })
        : undefined,
  };
}

/** An order's amount as the render request gives it (a decimal, like every API amount), formatted. */
export function orderMoney(amount: number, currency: string, intlLocale: string): string {
  return formatMinor(toMinor(amount, currency), currency, intlLocale);
}

/** The products together (shop the look), when they share a currency. */
export function productsTotalText(products: readonly ProductView[], intlLocale: string): string | undefined {
  const currency = products[0]?.currency;
  if (!currency || products.some((p) => p.currency !== currency)) return undefined;
  return formatMinor(products.reduce((sum, p) => sum + p.priceMinor, 0), currency, intlLocale);
}

import { checkUrl, withCampaignParams, type CampaignParams } from '../render/safe-url.ts';
import { compareAtMinor, customerPrice, money, type PricingFor } from './customer-pricing.ts';
import type { Product } from './product-schema.ts';

export interface LiveSize {
  size: string;
  inStock: boolean;
  /** The customer's usual size in this category. */
  preferred: boolean;
  /** Pre-selected: the preferred size when in stock, else the first size in stock. */
  selected: boolean;
}

/**
 * One product as an AMP email shows it at open time (amp-list JSON): price for the customer's
 * market and offer, formatted for their locale, and stock read from the store just now.
 */
export interface LiveOffer {
  sku: string;
  /** False when the product left the catalog after the email was sent. */
  available: boolean;
  title: string;
  url: string;
  image: string;
  currency: string;
  price: number;
  priceText: string;
  /** The crossed-out price: before the message's discount, or the compare-at price of a sale item. */
  wasText?: string;
  discountPercent?: number;
  onSale: boolean;
  soldOut: boolean;
  hasSizes: boolean;
  sizes: LiveSize[];
  preferredSize?: string;
  selectedSize?: string;
  preferredAvailable: boolean;
  /** Units left in the selected size when few remain ("only 2 left"). */
  left?: number;
}

export interface OfferContext extends PricingFor {
  /** The size the customer buys most in a category, from their stored profile. */
  preferredSize: (category: string | undefined) => string | undefined;
  campaignParams: CampaignParams;
  shopUrl: string;
  placeholderImage: string;
}

/** Few enough left that saying so helps the customer decide (and is true at open time). */
const LOW_STOCK = 3;

/**
 * @example
 * liveOffer('NL-TOP-002', await store.products.get('NL-TOP-002'), { currency: 'SEK', intlLocale: 'sv', … })
 */
export function liveOffer(sku: string, product: Product | undefined, c: OfferContext): LiveOffer {
  if (!product) {
    return {
      sku,
      available: false,
      title: '',
      url: withCampaignParams(new URL(c.shopUrl), c.campaignParams),
      image: c.placeholderImage,
      currency: c.currency,
      price: 0,
      priceText: '',
      onSale: false,
      soldOut: true,
      hasSizes: false,
      sizes: [],
      preferredAvailable: false,
    };
  }
  const price = customerPrice(product, c);
  const paid = money(price.minor, price.currency, c.intlLocale);
  const was = price.discounted ? price.listMinor : compareAtMinor(product, price);
  const preferred = c.preferredSize(product.category);
  const inStock = product.sizes.filter((s) => s.stock > 0);
  const selected = preferred !== undefined && inStock.some((s) => s.size === preferred) ? preferred : inStock[0]?.size;
  const selectedStock = product.sizes.find((s) => s.size === selected)?.stock;
  return {
    sku: product.sku,
    available: true,
    title: product.title,
    url: withCampaignParams(checkUrl(product.url, 'link') ?? new URL(c.shopUrl), c.campaignParams),
    image: checkUrl(product.image, 'image')?.href ?? c.placeholderImage,
    currency: price.currency,
    price: paid.amount,
    priceText: paid.text,
    ...(was !== undefined
      ? { wasText: money(was, price.currency, c.intlLocale).text, discountPercent: Math.round((1 - price.minor / was) * 100) }
      : {}),
    onSale: was !== undefined,
    soldOut: inStock.length === 0,
    hasSizes: product.sizes.length > 1,
    sizes: product.sizes.map((s) => ({ size: s.size, inStock: s.stock > 0, preferred: s.size === preferred, selected: s.size === selected })),
    ...(preferred === undefined ? {} : { preferredSize: preferred }),
    ...(selected === undefined ? {} : { selectedSize: selected }),
    preferredAvailable: preferred !== undefined && selected === preferred,
    ...(selectedStock !== undefined && selectedStock <= LOW_STOCK ? { left: selectedStock } : {}),
  };
}

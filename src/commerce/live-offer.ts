import { checkUrl, withCampaignParams, type CampaignParams } from '../shared/safe-url.ts';
import type { MessageOffer } from './amp-claims.ts';
import { fromMinor } from './money.ts';
import { percentOffFor, productView, type SizeState, type ViewableProduct } from './product-view.ts';
import type { Product } from './product-schema.ts';

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
  /** What one unit costs the customer (decimal, as the API's amounts are): the offer price when the discount applies. */
  price: number;
  priceText: string;
  /** The message's discount applies: `priceText` is the offer price and `wasText` the market price. */
  discounted: boolean;
  /**
   * The crossed-out price: the market price when the message's discount applies, else the
   * shop's compare-at price in this market (a sale claim).
   */
  wasText?: string;
  /** The message's percent off, when it applies. */
  discountPercent?: number;
  /** The lowest price of the 30 days before the current price took effect (product-view.ts `priorPriceText`). */
  priorPriceText?: string;
  onSale: boolean;
  soldOut: boolean;
  hasSizes: boolean;
  sizes: SizeState[];
  preferredSize?: string;
  selectedSize?: string;
  preferredAvailable: boolean;
  /** Units left in the selected size when few remain ("only 2 left"). */
  left?: number;
}

export interface OfferContext {
  /** The customer's market. */
  currency: string;
  /** BCP 47 tag Intl accepts. */
  intlLocale: string;
  /** The discount the message's token grants. */
  offer?: MessageOffer;
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
export function liveOffer(sku: string, product: (Product & Pick<ViewableProduct, 'referencePrices'>) | undefined, c: OfferContext): LiveOffer {
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
      discounted: false,
      onSale: false,
      soldOut: true,
      hasSizes: false,
      sizes: [],
      preferredAvailable: false,
    };
  }
  const percentOff = percentOffFor(c.offer, sku);
  const view = productView(product, { currency: c.currency, intlLocale: c.intlLocale, percentOff, preferredSize: c.preferredSize(product.category) });
  const paidMinor = view.offerPriceMinor ?? view.priceMinor;
  const discounted = view.offerPriceMinor !== undefined;
  const wasText = discounted ? view.priceText : view.compareAtText;
  return {
    sku: product.sku,
    available: true,
    title: product.title,
    url: withCampaignParams(checkUrl(product.url, 'link') ?? new URL(c.shopUrl), c.campaignParams),
    image: checkUrl(product.image, 'image')?.href ?? c.placeholderImage,
    currency: view.currency,
    price: fromMinor(paidMinor, view.currency),
    priceText: view.offerPriceText ?? view.priceText,
    discounted,
    ...(wasText !== undefined ? { wasText } : {}),
    ...(discounted ? { discountPercent: percentOff } : {}),
    ...(view.priorPriceText !== undefined ? { priorPriceText: view.priorPriceText } : {}),
    onSale: wasText !== undefined,
    soldOut: view.soldOut,
    hasSizes: view.hasSizes,
    sizes: view.sizes,
    ...(view.preferredSize === undefined ? {} : { preferredSize: view.preferredSize }),
    ...(view.selectedSize === undefined ? {} : { selectedSize: view.selectedSize }),
    preferredAvailable: view.preferredAvailable,
    ...(view.selectedStock !== undefined && view.selectedStock <= LOW_STOCK ? { left: view.selectedStock } : {}),
  };
}

import { z } from 'zod';
import { dataText } from '../shared/data-text.ts';

const price = z.number().finite().min(0);
/**
 * What a product sells for. Zero is refused: a message shows every product with a buy
 * button, and "Shop now" at €0.00 is a catalog error a customer would act on.
 */
export const salePrice = z.number().finite().gt(0, 'must be greater than 0: a product without a price cannot be offered for sale');
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR');

/**
 * The product contract, in two strictness levels. `productShape` is what campaign systems may
 * inline in recommendations: rendered defensively (URLs re-checked per context), so odd data
 * degrades with a warning. `productSchema` (commerce/product-schema.ts) is the catalog, the
 * source of truth for prices and stock: it refuses anything questionable at the door. This
 * level lives here, below commerce/, because recommendations carry it.
 */
export const productShape = z.object({
  sku: dataText().min(1).max(128),
  title: dataText().min(1).max(2000),
  description: dataText().max(10_000).optional(),
  category: dataText().max(128).optional(),
  price: salePrice,
  compareAtPrice: price.optional(),
  currency: currencyCode,
  /**
   * Market prices in other currencies ({ TRY: 1899, SEK: 549 }). Retailers set these per
   * market rather than converting at a daily rate, so a Turkish customer sees (and pays) the
   * lira price the shop sets.
   */
  prices: z.record(currencyCode, salePrice).optional(),
  /**
   * Compare-at prices per market ({ SEK: 899 }), set by the shop in that currency. A price in
   * one currency is never converted into another, so a market without an entry has no
   * compare-at price; `compareAtPrice` is the base `currency`'s.
   */
  compareAtPrices: z.record(currencyCode, price).optional(),
  image: z.string().max(2048).optional(),
  url: z.string().max(2048),
  sizes: z.array(z.object({ size: dataText().min(1).max(32), stock: z.number().int().min(0) })).max(200).default([]),
  tags: z.array(dataText().max(64)).max(100).default([]),
  newArrival: z.boolean().default(false),
});

import { z } from 'zod';
import { dataText } from '../shared/data-text.ts';
import { fractionDigits, minorDigits } from './money.ts';

/** ISO 4217 codes this runtime's Intl can format. */
export const knownCurrencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

const httpUrl = z.url({ protocol: /^https?$/ });

const price = z.number().finite().min(0);
/**
 * What a product sells for. Zero is refused: a message shows every product with a buy
 * button, and "Shop now" at €0.00 is a catalog error a customer would act on.
 */
const salePrice = z.number().finite().gt(0, 'must be greater than 0: a product without a price cannot be offered for sale');
const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR');
const knownCurrency = currencyCode.refine((c) => knownCurrencies.has(c), 'unknown ISO 4217 currency');

/**
 * The product contract, in two strictness levels. `productShape` is what campaign systems may
 * inline in recommendations: rendered defensively (URLs re-checked per context), so odd data
 * degrades with a warning. `productSchema` is the catalog, the source of truth for prices and
 * stock: it refuses anything questionable at the door.
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

/**
 * A catalog product as the API accepts it (`PUT /v1/catalog/products`) and the store returns
 * it. Prices are decimal amounts in `currency`; the store keeps them as minor units.
 */
export const productSchema = productShape
  .extend({
    sku: dataText().trim().min(1).max(128),
    title: dataText().trim().min(1).max(500),
    currency: knownCurrency,
    prices: z.record(knownCurrency, salePrice).optional(),
    compareAtPrices: z.record(knownCurrency, salePrice).optional(),
    image: httpUrl.max(2048).optional(),
    url: httpUrl.max(2048),
    sizes: z
      .array(
        z.object({
          size: dataText().trim().min(1).max(32),
          stock: z.number().int().min(0).max(2_147_483_647),
        }),
      )
      .min(1)
      .max(200),
    tags: z.array(dataText().min(1).max(64)).max(100).default([]),
  })
  .superRefine((p, ctx) => {
    // Checked here rather than left to rounding: 49.999 EUR is a catalog error, not a price.
    if (/^[A-Z]{3}$/.test(p.currency)) {
      const allowed = minorDigits(p.currency);
      for (const field of ['price', 'compareAtPrice'] as const) {
        const amount = p[field];
        if (amount !== undefined && fractionDigits(amount) > allowed) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `${p.currency} allows at most ${allowed} decimal places`,
          });
        }
      }
    }
    for (const field of ['prices', 'compareAtPrices'] as const) {
      for (const [currency, amount] of Object.entries(p[field] ?? {})) {
        if (knownCurrencies.has(currency) && fractionDigits(amount) > minorDigits(currency)) {
          ctx.addIssue({ code: 'custom', path: [field, currency], message: `${currency} allows at most ${minorDigits(currency)} decimal places` });
        }
      }
    }
    // A compare-at price claims a saving against the price the customer pays in that market,
    // so it needs that price, and one at or below it claims a saving that is not there.
    for (const [currency, amount] of Object.entries(p.compareAtPrices ?? {})) {
      const path = ['compareAtPrices', currency];
      const market = p.prices?.[currency];
      if (currency === p.currency && market === undefined) {
        ctx.addIssue({ code: 'custom', path, message: `${currency} is the base currency: its compare-at price is compareAtPrice` });
      } else if (market === undefined) {
        ctx.addIssue({ code: 'custom', path, message: `there is no ${currency} price: add prices.${currency}, or remove compareAtPrices.${currency}` });
      } else if (amount <= market) {
        ctx.addIssue({ code: 'custom', path, message: `must be greater than the ${currency} price ${market} (prices.${currency}): a compare-at price at or below the price claims a saving that is not there` });
      }
    }
    const seen = new Set<string>();
    p.sizes.forEach((s, i) => {
      if (seen.has(s.size)) {
        ctx.addIssue({ code: 'custom', path: ['sizes', i, 'size'], message: `duplicate size ${s.size}` });
      }
      seen.add(s.size);
    });
  });

/** What callers may send (tags and newArrival have defaults). */
export type ProductInput = z.input<typeof productSchema>;
/** What the store returns. */
export type Product = z.output<typeof productSchema>;

/** A batch for `upsertMany`; a sku may appear once so the outcome doesn't depend on order. */
export const productBatchSchema = z.array(productSchema).superRefine((products, ctx) => {
  const seen = new Set<string>();
  products.forEach((p, i) => {
    if (seen.has(p.sku)) ctx.addIssue({ code: 'custom', path: [i, 'sku'], message: `duplicate sku ${p.sku}` });
    seen.add(p.sku);
  });
});

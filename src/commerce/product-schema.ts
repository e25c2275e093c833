import { z } from 'zod';
import { dataText } from '../shared/data-text.ts';
import { fractionDigits, minorDigits } from './money.ts';
import { currencyCode, productShape, salePrice } from '../personalize/product-shape.ts';

/** ISO 4217 codes this runtime's Intl can format. */
export const knownCurrencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

const httpUrl = z.url({ protocol: /^https?$/ });

const knownCurrency = currencyCode.refine((c) => knownCurrencies.has(c), 'unknown ISO 4217 currency');

/**
 * A catalog product as the API accepts it (`PUT /v1/catalog/products`) and the store returns
 * it. Prices are decimal amounts in `currency`; the store keeps them as minor units. The strict
 * level of the product contract; the lenient one, `productShape`, is in
 * personalize/product-shape.ts (recommendations carry it).
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

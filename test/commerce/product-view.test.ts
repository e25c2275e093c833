import { describe, expect, it } from 'vitest';
import { productView, type ViewableProduct } from '../../src/commerce/product-view.ts';

const knit: ViewableProduct = {
  sku: 'NL-TOP-002',
  category: 'tops',
  price: 69.95,
  currency: 'EUR',
  prices: { SEK: 769, TRY: 3499 },
  compareAtPrice: 89.95,
  compareAtPrices: { SEK: 989 },
  sizes: [
    { size: 'XS', stock: 0 },
    { size: 'S', stock: 3 },
    { size: 'M', stock: 7 },
  ],
  referencePrices: { EUR: { priceMinor: 6995, since: '2026-11-13T08:00:00.000Z', lowest30dMinor: 7995 } },
};

describe('productView', () => {
  it('prices a product for a market, with the message\'s discount in minor units', () => {
    expect(productView(knit, { currency: 'SEK', intlLocale: 'sv', percentOff: 15, preferredSize: 'M' })).toMatchObject({
      currency: 'SEK',
      priceMinor: 76900,
      priceText: '769,00\u00a0kr',
      offerPriceMinor: 65365,
      offerPriceText: '653,65\u00a0kr',
      compareAtMinor: 98900,
      onSale: true,
      selectedSize: 'M',
      preferredAvailable: true,
      soldOut: false,
      selectedStock: 7,
    });
  });

  it('takes the compare-at price of the market shown, and never converts one from another currency', () => {
    // TRY has no compare-at price of its own: no sale, whatever the EUR one says.
    const lira = productView(knit, { currency: 'TRY', intlLocale: 'tr' });
    expect(lira).toMatchObject({ currency: 'TRY', priceText: '₺3.499,00', onSale: false });
    expect(lira.compareAtText).toBeUndefined();
    // The base currency's is compareAtPrice.
    expect(productView(knit, { currency: 'EUR', intlLocale: 'en' })).toMatchObject({ compareAtText: '€89.95', onSale: true });
    // A market the shop sells in only at the base price: the base currency, with its compare-at price.
    expect(productView(knit, { currency: 'NOK', intlLocale: 'en' })).toMatchObject({ currency: 'EUR', priceText: '€69.95', compareAtText: '€89.95' });
    // A compare-at price at or below the price claims nothing.
    expect(productView({ ...knit, compareAtPrice: 69.95 }, { currency: 'EUR', intlLocale: 'en' }).onSale).toBe(false);
  });

  it('gives the 30-day prior price only where the history records a reduction to the price shown', () => {
    expect(productView(knit, { currency: 'EUR', intlLocale: 'en' })).toMatchObject({ priorPriceMinor: 7995, priorPriceText: '€79.95' });
    // No history in the market: none, though the compare-at price is higher.
    expect(productView(knit, { currency: 'SEK', intlLocale: 'sv' }).priorPriceText).toBeUndefined();
    // The price went up (the lowest of the 30 days is below it): no reduction.
    const raised = { ...knit, referencePrices: { EUR: { priceMinor: 6995, since: '2026-11-13T08:00:00.000Z', lowest30dMinor: 5995 } } };
    expect(productView(raised, { currency: 'EUR', intlLocale: 'en' }).priorPriceText).toBeUndefined();
    // A reference derived for another price than the one shown (a copy a write behind) announces nothing.
    expect(productView({ ...knit, price: 64.95 }, { currency: 'EUR', intlLocale: 'en' }).priorPriceText).toBeUndefined();
  });

  it('pre-selects the usual size when in stock, else the first size in stock', () => {
    expect(productView(knit, { currency: 'EUR', intlLocale: 'en', preferredSize: 'XS' })).toMatchObject({ selectedSize: 'S', preferredAvailable: false, selectedStock: 3 });
    expect(productView({ ...knit, sizes: [{ size: 'S', stock: 0 }] }, { currency: 'EUR', intlLocale: 'en' })).toMatchObject({ soldOut: true, selectedSize: undefined, selectedStock: undefined });
  });
});

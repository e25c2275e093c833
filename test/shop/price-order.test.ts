import { describe, expect, it } from 'vitest';
import { priceOrder } from '../../src/shop/price-order.ts';
import { loadFixtures } from '../../src/validate/template-fixtures.ts';
import { FIXTURES_DIR } from '../support/render-kit.ts';

const catalog = [...loadFixtures(FIXTURES_DIR).catalog.values()];

describe('priceOrder', () => {
  it('prices from the catalog in the market currency, in minor units', () => {
    const r = priceOrder(catalog, [{ sku: 'NL-TOP-001', size: 'M', quantity: 2 }], 'SEK');
    expect(r).toEqual({ ok: true, currency: 'SEK', totalMinor: 109_800, lines: [{ sku: 'NL-TOP-001', size: 'M', quantity: 2, unitPriceMinor: 54_900, title: 'Fjord Linen Shirt' }] });
  });

  it('falls back to the base price where the shop set no market price', () => {
    const r = priceOrder(catalog, [{ sku: 'NL-TOP-001', size: 'M', quantity: 1 }], 'NOK');
    expect(r).toMatchObject({ ok: true, currency: 'EUR', totalMinor: 4_995 });
  });

  it('refuses unknown products and sizes and sold-out sizes with a message for the customer', () => {
    expect(priceOrder(catalog, [{ sku: 'NOPE', size: 'M', quantity: 1 }], 'EUR')).toMatchObject({ ok: false, code: 'unknown_product' });
    expect(priceOrder(catalog, [{ sku: 'NL-TOP-001', size: 'XXL', quantity: 1 }], 'EUR')).toMatchObject({ ok: false, code: 'unknown_size', message: 'Fjord Linen Shirt has no size XXL.' });
    expect(priceOrder(catalog, [{ sku: 'NL-DRS-003', size: 'S', quantity: 1 }], 'EUR')).toMatchObject({ ok: false, code: 'out_of_stock' });
    expect(priceOrder(catalog, [], 'EUR')).toMatchObject({ ok: false, code: 'empty' });
  });
});

describe('priceOrder with the message’s offer', () => {
  it('charges the percentage off, in minor units, only on the products the message offered', () => {
    const r = priceOrder(catalog, [{ sku: 'NL-TOP-001', size: 'M', quantity: 1 }, { sku: 'NL-ACC-001', size: 'ONE', quantity: 1 }], 'EUR', { percentOff: 15, skus: new Set(['NL-TOP-001']) });
    // €49.95 less 15% = €42.4575 → 4246 cents; the scarf (€39.95) was not in the offer.
    expect(r).toMatchObject({ ok: true, totalMinor: 4246 + 3995, lines: [{ unitPriceMinor: 4246 }, { unitPriceMinor: 3995 }] });
  });
});

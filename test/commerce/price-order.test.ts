import { describe, expect, it } from 'vitest';
import { priceOrder } from '../../src/commerce/price-order.ts';
import { loadFixtures } from '../../src/templates/template-fixtures.ts';
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

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { expect } from 'vitest';
import { productDetailSchema } from '../../src/http/api-schemas.ts';
import type { OpenStoreOptions, ProductInput } from '../../src/store/index.ts';
import { createManualClock } from '../support/test-clock.ts';
import { openTestApp, removeDir } from './helpers.ts';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
export const day = (n: number) => new Date(T0 + n * DAY).toISOString();

/**
 * The price history through `PUT` and `GET /v1/catalog/products`, on an app whose store runs on
 * a clock that stands still between the steps; run by catalog.test.ts (SQLite) and
 * catalog-postgres.test.ts (PostgreSQL).
 */
export async function checkPriceHistoryApi(o: { store?: OpenStoreOptions; sku: string }): Promise<void> {
  const clock = createManualClock(day(-31));
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-history-'));
  // Without store options, a SQLite file in the app's data dir.
  const t = await openTestApp({ store: { ...(o.store ?? { dataDir }), now: clock.now }, seed: false, dataDir });
  const product = (overrides: Partial<ProductInput>): ProductInput => ({
    sku: o.sku,
    title: 'Wool scarf',
    price: 39.5,
    currency: 'EUR',
    url: `https://shop.nordlys.example/p/${o.sku}`,
    sizes: [{ size: 'ONE', stock: 7 }],
    ...overrides,
  });
  const putAt = async (atDay: number, p: ProductInput) => {
    clock.set(day(atDay));
    await request(t.app).put('/v1/catalog/products').send([p]).expect(200);
  };
  const historyRows = async () => (await t.store.db.selectFrom('price_history').select('valid_from').where('sku', '=', o.sku).execute()).length;
  try {
    await putAt(-31, product({ prices: { SEK: 449 } }));
    await putAt(-30, product({ title: 'Renamed scarf', prices: { SEK: 449 } }));
    expect(await historyRows()).toBe(2);
    await putAt(0, product({ prices: { SEK: 399 }, compareAtPrices: { SEK: 499 } }));
    await putAt(10, product({ prices: { SEK: 429, TRY: 1999 }, compareAtPrices: { SEK: 499 } }));
    expect(await historyRows()).toBe(5);

    clock.set(day(12));
    const got = await request(t.app).get(`/v1/catalog/products/${o.sku}`).expect(200);
    expect(got.body).toStrictEqual({
      sku: o.sku,
      title: 'Wool scarf',
      price: 39.5,
      currency: 'EUR',
      prices: { SEK: 429, TRY: 1999 },
      compareAtPrices: { SEK: 499 },
      url: `https://shop.nordlys.example/p/${o.sku}`,
      sizes: [{ size: 'ONE', stock: 7 }],
      tags: [],
      newArrival: false,
      priceHistory: {
        // The first price: nothing is known of the 30 days before it.
        EUR: { price: 39.5, since: day(-31), lowest30d: null, changes: [{ price: 39.5, validFrom: day(-31) }] },
        // Days -20..10 saw 449 and 399.
        SEK: {
          price: 429,
          since: day(10),
          lowest30d: 399,
          changes: [
            { price: 429, validFrom: day(10) },
            { price: 399, validFrom: day(0) },
            { price: 449, validFrom: day(-31) },
          ],
        },
        TRY: { price: 1999, since: day(10), lowest30d: null, changes: [{ price: 1999, validFrom: day(10) }] },
      },
    });
    expect(productDetailSchema.safeParse(got.body).success).toBe(true);

    // A market dropped from `prices` shows as ended.
    await putAt(15, product({ prices: { SEK: 429 } }));
    const ended = await request(t.app).get(`/v1/catalog/products/${o.sku}`).expect(200);
    expect(ended.body.priceHistory.TRY).toEqual({
      price: null,
      since: day(15),
      lowest30d: null,
      changes: [
        { price: null, validFrom: day(15) },
        { price: 1999, validFrom: day(10) },
      ],
    });

    const bad = await request(t.app)
      .put('/v1/catalog/products')
      .send([product({ prices: { SEK: 429 }, compareAtPrices: { SEK: 429, TRY: 2999 } }), product({ sku: `${o.sku}-2`, compareAtPrices: { EUR: 49 } })]);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([
      { path: '0.compareAtPrices.SEK', message: 'must be greater than the SEK price 429 (prices.SEK): a compare-at price at or below the price claims a saving that is not there' },
      { path: '0.compareAtPrices.TRY', message: 'there is no TRY price: add prices.TRY, or remove compareAtPrices.TRY' },
      { path: '1.compareAtPrices.EUR', message: 'EUR is the base currency: its compare-at price is compareAtPrice' },
    ]);
    // Nothing of the refused batch was written, history included.
    expect(await historyRows()).toBe(6);
  } finally {
    await t.close();
    removeDir(dataDir);
  }
}

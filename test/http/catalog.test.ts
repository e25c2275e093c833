import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { ProductInput } from '../../src/store/index.ts';
import { openTestApp, removeDir, useTestApp, renderBody, type TestApp } from './helpers.ts';
import { checkPriceHistoryApi } from './price-history-api.ts';

const product = (sku: string, overrides: Partial<ProductInput> = {}): ProductInput => ({
  sku,
  title: `Wool scarf ${sku}`,
  price: 39.5,
  currency: 'EUR',
  prices: { SEK: 449 },
  url: `https://shop.nordlys.example/p/${sku}`,
  image: `https://cdn.nordlys.example/img/${sku}.jpg`,
  category: 'accessories',
  sizes: [{ size: 'ONE', stock: 7 }],
  ...overrides,
});

let t: TestApp;
useTestApp({}, (app) => (t = app));

describe('PUT /v1/catalog/products', () => {
  it('upserts and returns count and skus; GET returns the stored product', async () => {
    const res = await request(t.app).put('/v1/catalog/products').send([product('T-SCARF-1'), product('T-SCARF-2', { price: 45 })]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ count: 2, skus: ['T-SCARF-1', 'T-SCARF-2'] });
    const got = await request(t.app).get('/v1/catalog/products/T-SCARF-2');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ sku: 'T-SCARF-2', price: 45, prices: { SEK: 449 }, sizes: [{ size: 'ONE', stock: 7 }], tags: [], newArrival: false });
  });

  it('is all or nothing: one bad product stores none, and the 400 names index and field', async () => {
    const res = await request(t.app)
      .put('/v1/catalog/products')
      .send([product('T-GOOD-1'), product('T-BAD-1', { price: -1, url: 'ftp://x' }), product('T-GOOD-1')]);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual(['1.price', '1.url', '2.sku']);
    expect((await request(t.app).get('/v1/catalog/products/T-GOOD-1')).status).toBe(404);
  });

  it('refuses a product priced 0, in its base or a market price: every message shows it with a buy button', async () => {
    const res = await request(t.app)
      .put('/v1/catalog/products')
      .send([product('T-FREE-1', { price: 0 }), product('T-FREE-2', { prices: { SEK: 449, TRY: 0 } })]);
    expect(res.status).toBe(400);
    const message = 'must be greater than 0: a product without a price cannot be offered for sale';
    expect(res.body.error.fields).toEqual([
      { path: '0.price', message },
      { path: '1.prices.TRY', message },
    ]);
    expect((await request(t.app).get('/v1/catalog/products/T-FREE-2')).status).toBe(404);
  });

  it('the seeded catalog starts the price history: one row per product and market', async () => {
    const rows = await t.store.db.selectFrom('price_history').select(['currency', 'price_minor']).where('sku', '=', 'NL-TOP-001').orderBy('currency').execute();
    expect(rows).toEqual([
      { currency: 'EUR', price_minor: 4995 },
      { currency: 'SEK', price_minor: 54900 },
      { currency: 'TRY', price_minor: 249900 },
    ]);
  });

  it('the seeded catalog carries the sample price history (fixtures/price-history.json) at the times it took effect', async () => {
    const res = await request(t.app).get('/v1/catalog/products/NL-TOP-002').expect(200);
    expect(res.body.priceHistory.EUR).toEqual({
      price: 69.95,
      since: '2026-11-13T08:00:00.000Z',
      lowest30d: 79.95,
      changes: [
        { price: 69.95, validFrom: '2026-11-13T08:00:00.000Z' },
        { price: 79.95, validFrom: '2026-10-20T08:00:00.000Z' },
        { price: 89.95, validFrom: '2026-08-01T08:00:00.000Z' },
      ],
    });
    expect(res.body.priceHistory.SEK).toMatchObject({ price: 769, lowest30d: 879 });
    expect(res.body).toMatchObject({ compareAtPrice: 89.95, compareAtPrices: { SEK: 989, TRY: 4499 } });
  });

  it('400 when the body is not a list', async () => {
    const res = await request(t.app).put('/v1/catalog/products').send(product('T-SINGLE'));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ path: '(root)' })]);
  });

  it('415 for a non-JSON body', async () => {
    const res = await request(t.app).put('/v1/catalog/products').set('content-type', 'text/csv').send('sku,title');
    expect(res.status).toBe(415);
  });

  it('the next render uses the updated catalog', async () => {
    await request(t.app).put('/v1/catalog/products').send([product('T-RENDER-1', { title: 'Freshly Renamed Scarf' })]);
    const res = await request(t.app)
      .post('/v1/render')
      .send(renderBody('recommendations', 'sophie', undefined, { recommendations: { items: [{ sku: 'T-RENDER-1' }] }, channels: ['email'] }));
    expect(res.status).toBe(200);
    expect(res.body.email.html).toContain('Freshly Renamed Scarf');
  });
});

describe('GET /v1/catalog/products/:sku', () => {
  it('returns the price history per market, recorded at the store clock, and the 30-day lowest', async () => {
    await checkPriceHistoryApi({ sku: 'T-HIST-1' });
  });

  it('404 for an unknown sku', async () => {
    const res = await request(t.app).get('/v1/catalog/products/NOPE-1');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'unknown_sku', message: expect.stringContaining('NOPE-1') });
  });
});

describe('restart', () => {
  it('keeps the catalog when app and store are closed and opened again on the same data dir', async () => {
    const first = await openTestApp({ seed: false });
    try {
      await request(first.app).put('/v1/catalog/products').send([product('T-KEEP-1', { title: 'Kept Across Restarts' })]);
      await first.close();
      const second = await openTestApp({ dataDir: first.dataDir, seed: false });
      try {
        const got = await request(second.app).get('/v1/catalog/products/T-KEEP-1');
        expect(got.status).toBe(200);
        expect(got.body.title).toBe('Kept Across Restarts');
        // The render cache is loaded from the store at start, not only from this instance's writes.
        const res = await request(second.app)
          .post('/v1/render')
          .send(renderBody('recommendations', 'sophie', undefined, { recommendations: { items: [{ sku: 'T-KEEP-1' }] } }));
        expect(res.body.email.html).toContain('Kept Across Restarts');
      } finally {
        await second.close();
      }
    } finally {
      removeDir(first.dataDir);
    }
  });
});

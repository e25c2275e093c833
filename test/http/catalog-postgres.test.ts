import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { dropPgSchema, PG_URL } from '../store/backends.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMinor } from '../../src/commerce/money.ts';
import { placeOrder, type OpenStoreOptions, type ProductInput } from '../../src/store/index.ts';
import { openTestApp, removeDir, renderBody, type TestApp } from './helpers.ts';
import { checkPriceHistoryApi } from './price-history-api.ts';

/** Catalog and order persistence through the HTTP API on PostgreSQL, in a schema of its own. */
const pgSchema = `t_http_${randomBytes(6).toString('hex')}`;
const storeOptions: OpenStoreOptions = { databaseUrl: PG_URL, pgSchema };

const product = (sku: string, overrides: Partial<ProductInput> = {}): ProductInput => ({
  sku,
  title: `Merino beanie ${sku}`,
  price: 29.95,
  currency: 'EUR',
  url: `https://shop.nordlys.example/p/${sku}`,
  sizes: [
    { size: 'S', stock: 3 },
    { size: 'M', stock: 5 },
  ],
  ...overrides,
});

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp({ store: storeOptions, seed: false });
});
afterAll(async () => {
  await t?.close();
  removeDir(t.dataDir);
  await dropPgSchema(pgSchema);
});

describe('catalog on PostgreSQL', () => {
  it('upserts, reads back, and replaces on a second PUT', async () => {
    expect((await request(t.app).put('/v1/catalog/products').send([product('PG-1'), product('PG-2')])).body).toEqual({ count: 2, skus: ['PG-1', 'PG-2'] });
    await request(t.app).put('/v1/catalog/products').send([product('PG-1', { price: 24.95, sizes: [{ size: 'L', stock: 1 }] })]).expect(200);
    const got = await request(t.app).get('/v1/catalog/products/PG-1').expect(200);
    expect(got.body).toMatchObject({ price: 24.95, sizes: [{ size: 'L', stock: 1 }] });
  });

  it('stores nothing when one product is invalid', async () => {
    const res = await request(t.app).put('/v1/catalog/products').send([product('PG-ATOMIC-1'), product('PG-ATOMIC-2', { currency: 'XXQ' })]);
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['1.currency']);
    await request(t.app).get('/v1/catalog/products/PG-ATOMIC-1').expect(404);
  });

  it('orders are priced from the catalog, and the stock they take shows in the API', async () => {
    await request(t.app).put('/v1/catalog/products').send([product('PG-ORDER-1', { price: 31.5 })]).expect(200);
    const catalogProduct = (await request(t.app).get('/v1/catalog/products/PG-ORDER-1')).body as { price: number; currency: string; title: string };
    const result = await placeOrder(t.store, {
      idempotencyKey: `http-pg-${pgSchema}`,
      customerId: 'cust-sophie',
      channel: 'email',
      currency: catalogProduct.currency,
      lines: [{ sku: 'PG-ORDER-1', size: 'M', quantity: 2, unitPriceMinor: toMinor(catalogProduct.price, catalogProduct.currency), title: catalogProduct.title }],
      shippingAddress: { name: 'Sophie Turner', line1: '1 Example Street', city: 'London', postalCode: 'N1 1AA', country: 'GB' },
    });
    expect('order' in result && result.order.totalMinor).toBe(6300);
    const after = await request(t.app).get('/v1/catalog/products/PG-ORDER-1').expect(200);
    expect(after.body.sizes).toEqual([
      { size: 'S', stock: 3 },
      { size: 'M', stock: 3 },
    ]);
  });

  it('keeps catalog and orders when app and store are reopened on the same schema', async () => {
    await request(t.app).put('/v1/catalog/products').send([product('PG-KEEP-1', { title: 'Survives Restarts' })]).expect(200);
    await t.close();
    t = await openTestApp({ store: storeOptions, seed: false, dataDir: t.dataDir });
    expect((await request(t.app).get('/v1/catalog/products/PG-KEEP-1').expect(200)).body.title).toBe('Survives Restarts');
    const order = await t.store.orders.getByIdempotencyKey(`http-pg-${pgSchema}`);
    expect(order?.lines).toEqual([expect.objectContaining({ sku: 'PG-ORDER-1', quantity: 2, unitPriceMinor: 3150 })]);
    const res = await request(t.app)
      .post('/v1/render')
      .send(renderBody('recommendations', 'sophie', undefined, { recommendations: { items: [{ sku: 'PG-KEEP-1' }] } }));
    expect(res.status).toBe(200);
    expect(res.body.email.html).toContain('Survives Restarts');
  });

  it('records the price history and answers it in GET, as on SQLite', async () => {
    await checkPriceHistoryApi({ store: storeOptions, sku: 'PG-HIST-1' });
  });

  it('readyz answers 200 while PostgreSQL is reachable', async () => {
    await request(t.app).get('/readyz').expect(200, { status: 'ready' });
  });
});

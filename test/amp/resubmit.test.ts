import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uid } from '../store/backends.ts';
import { mintToken, openAmpApp, v2, type AmpApp, type Backend } from './amp-kit.ts';

/**
 * Regression tests for "a resubmitted form whose order exists answers 409 out_of_stock": the
 * order took the last unit, and the resubmission's stock check ran before its key was looked
 * up. The same key must always get the same answer.
 */
describe.each<Backend>(['sqlite', 'postgres'])('a checkout form submitted again, for the last unit, on %s', (backend) => {
  let t: AmpApp;
  beforeAll(async () => {
    t = await openAmpApp(backend);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  /** A product with one unit left and a customer with an address and a card, both new. */
  async function lastUnit(): Promise<{ sku: string; customerId: string; checkout: string }> {
    const sku = uid('NL-LAST');
    const customerId = uid('cust-last');
    await request(t.server)
      .put('/v1/catalog/products')
      .send([{ sku, title: 'Last One Parka', price: 199, currency: 'EUR', url: `https://shop.nordlys.example/p/${sku}`, sizes: [{ size: 'M', stock: 1 }] }])
      .expect(200);
    await request(t.server)
      .put('/v1/customers')
      .send([{ id: customerId, currency: 'EUR', address: { name: 'Nora Lind', line1: '1 Test Road', city: 'Cork', postalCode: 'T12 AB34', country: 'IE' }, paymentMethod: { type: 'card', last4: '0005', token: `pm_${customerId}` } }])
      .expect(200);
    const token = mintToken(t.config.tokenKeys, { sub: customerId, msg: uid('msg'), tpl: 'recommendations', skus: [sku], currency: 'EUR', locale: 'en' });
    return { sku, customerId, checkout: `/amp/v1/checkout?token=${token}` };
  }

  const submit = (path: string, form: Record<string, string>) => request(t.server).post(path).set(v2).type('form').send(form);
  const stock = async (sku: string) => (await t.store.products.get(sku))!.sizes[0]!.stock;

  it('"buy now" twice: both answers are 200 with the same order', async () => {
    const { sku, customerId, checkout } = await lastUnit();
    const first = await submit(checkout, { sku, size: 'M', quantity: '1' });
    const second = await submit(checkout, { sku, size: 'M', quantity: '1' });
    expect([first.status, second.status], JSON.stringify(second.body)).toEqual([200, 200]);
    expect(second.body).toEqual(first.body);
    expect(first.body.orderNumber).toMatch(/^IC-/);
    expect(await t.store.orders.listByCustomer(customerId)).toHaveLength(1);
    expect(await stock(sku)).toBe(0);
  });

  it('cart checkout again by a client that still saw the cart\'s lines: 200 with the same order', async () => {
    const { sku, customerId, checkout } = await lastUnit();
    await t.store.carts.setItem(customerId, sku, 'M', 1);
    const first = await submit(checkout, { from: 'cart' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    // A second submission that read the cart before the first one emptied it has the same
    // lines (so the same key) and meets the stock the first took.
    await t.store.carts.setItem(customerId, sku, 'M', 1);
    const second = await submit(checkout, { from: 'cart' });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.orderNumber).toBe(first.body.orderNumber);
    expect(await t.store.orders.listByCustomer(customerId)).toHaveLength(1);
    expect(await stock(sku)).toBe(0);
  });

  it('ten identical cart checkouts at once: every answer is 200 with the one order', async () => {
    const { sku, customerId, checkout } = await lastUnit();
    await t.store.carts.setItem(customerId, sku, 'M', 1);
    const answers = await Promise.all(Array.from({ length: 10 }, () => submit(checkout, { from: 'cart' })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((a) => a.body.orderNumber)).size).toBe(1);
    expect(await t.store.orders.listByCustomer(customerId)).toHaveLength(1);
    expect(await stock(sku)).toBe(0);
  });
});

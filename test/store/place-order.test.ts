import { describe, expect, it } from 'vitest';
import { placeOrder, type PlaceOrderResult } from '../../src/store/place-order.ts';
import type { Order } from '../../src/store/orders-repository.ts';
import { BACKENDS, uid, useStore } from './backends.ts';
import { address, orderInput as input, product } from './fixtures.ts';

function created(result: PlaceOrderResult): Order {
  if (!('order' in result)) throw new Error(`expected an order, got ${JSON.stringify(result)}`);
  return result.order;
}

describe.each(BACKENDS)('placeOrder on %s', (backendName) => {
  const { store } = useStore(backendName);

  async function stockOf(sku: string, size = 'M'): Promise<number | undefined> {
    return (await store().products.get(sku))?.sizes.find((s) => s.size === size)?.stock;
  }

  async function orderCount(sku: string): Promise<number> {
    const rows = await store().db.selectFrom('order_lines').select('order_id').where('sku', '=', sku).execute();
    return new Set(rows.map((r) => r.order_id)).size;
  }

  it('stores the order with its lines, attribution and total, and takes the stock', async () => {
    const sku = uid('basic');
    await store().products.upsertMany([product(sku)]);
    const result = await placeOrder(
      store(),
      input(sku, {
        channel: 'whatsapp',
        campaignId: 'spring-drop',
        messageId: 'SM123',
        template: 'new-arrivals',
        status: 'awaiting_payment',
        paymentLink: 'https://pay.example/l/abc',
        lines: [
          { sku, size: 'M', quantity: 2, unitPriceMinor: 4995, title: 'Linen shirt' },
          { sku, size: 'S', quantity: 1, unitPriceMinor: 4495, title: 'Linen shirt (S)' },
        ],
      }),
    );
    expect(result).toMatchObject({ created: true });
    const order = created(result);
    expect(order.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(order.number).toMatch(/^IC-[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(order.totalMinor).toBe(2 * 4995 + 4495);
    expect(await store().orders.get(order.id)).toStrictEqual(order);
    expect(await store().orders.getByNumber(order.number)).toStrictEqual(order);
    expect(await store().orders.getByIdempotencyKey(order.idempotencyKey)).toStrictEqual(order);
    expect(order).toMatchObject({
      channel: 'whatsapp',
      campaignId: 'spring-drop',
      messageId: 'SM123',
      template: 'new-arrivals',
      status: 'awaiting_payment',
      paymentLink: 'https://pay.example/l/abc',
      shippingAddress: address,
    });
    expect(await stockOf(sku, 'M')).toBe(3);
    expect(await stockOf(sku, 'S')).toBe(2);
  });

  it('keeps a caller-given total (shipping) and leaves absent optionals out', async () => {
    const sku = uid('total');
    await store().products.upsertMany([product(sku)]);
    const order = created(await placeOrder(store(), input(sku, { totalMinor: 4995 + 490 })));
    expect(order.totalMinor).toBe(5485);
    const stored = await store().orders.get(order.id);
    expect(stored).toStrictEqual(order);
    expect(Object.keys(stored ?? {})).not.toContain('campaignId');
    expect(stored?.status).toBe('placed');
  });

  it('an order short on one line writes nothing and names the sku and size', async () => {
    const a = uid('short-a');
    const b = uid('short-b');
    await store().products.upsertMany([product(a), product(b, { sizes: [{ size: 'M', stock: 1 }] })]);
    const result = await placeOrder(
      store(),
      input(a, {
        lines: [
          { sku: a, size: 'M', quantity: 2, unitPriceMinor: 4995, title: 'A' },
          { sku: b, size: 'M', quantity: 2, unitPriceMinor: 4995, title: 'B' },
        ],
      }),
    );
    expect(result).toEqual({ error: 'out_of_stock', sku: b, size: 'M' });
    expect(await stockOf(a)).toBe(5);
    expect(await stockOf(b)).toBe(1);
    expect(await orderCount(a)).toBe(0);
  });

  it('counts repeated lines of one size together against stock', async () => {
    const sku = uid('repeat');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 3 }] })]);
    const line = { sku, size: 'M', quantity: 2, unitPriceMinor: 4995, title: 'A' };
    expect(await placeOrder(store(), input(sku, { lines: [line, line] }))).toEqual({
      error: 'out_of_stock',
      sku,
      size: 'M',
    });
    expect(await stockOf(sku)).toBe(3);
  });

  it('50 concurrent orders for the last 5 units: exactly 5 orders, stock 0', async () => {
    const sku = uid('last5');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 5 }] })]);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => placeOrder(store(), input(sku, { customerId: `cust-${i}` }))),
    );
    const orders = results.filter((r) => 'order' in r);
    expect(orders).toHaveLength(5);
    expect(orders.every((r) => r.created)).toBe(true);
    expect(results.filter((r) => 'error' in r)).toEqual(
      Array.from({ length: 45 }, () => ({ error: 'out_of_stock', sku, size: 'M' })),
    );
    expect(await stockOf(sku)).toBe(0);
    expect(await orderCount(sku)).toBe(5);
  });

  it('the same idempotency key twice in a row makes one order', async () => {
    const sku = uid('idem');
    await store().products.upsertMany([product(sku)]);
    const req = input(sku);
    const first = await placeOrder(store(), req);
    const second = await placeOrder(store(), req);
    expect(first).toMatchObject({ created: true });
    expect(second).toEqual({ order: created(first), created: false });
    expect(await stockOf(sku)).toBe(4);
    expect(await orderCount(sku)).toBe(1);
  });

  it('the same idempotency key submitted 20 times at once makes one order', async () => {
    const sku = uid('idem-race');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 1 }] })]);
    const req = input(sku);
    const results = await Promise.all(Array.from({ length: 20 }, () => placeOrder(store(), { ...req })));
    const orders = results.map(created);
    expect(orders.filter((_, i) => (results[i] as { created: boolean }).created)).toHaveLength(1);
    expect(new Set(orders.map((o) => o.id)).size).toBe(1);
    expect(await stockOf(sku)).toBe(0);
    expect(await orderCount(sku)).toBe(1);
  });

  it('refuses to hand out another customer\'s order for a reused key', async () => {
    const sku = uid('reuse');
    await store().products.upsertMany([product(sku)]);
    const req = input(sku);
    created(await placeOrder(store(), req));
    expect(await placeOrder(store(), { ...req, customerId: 'someone-else' })).toEqual({
      error: 'idempotency_key_reused',
    });
    expect(await stockOf(sku)).toBe(4);
  });

  it('empties the cart in the same transaction when asked, and only on success', async () => {
    const sku = uid('cart');
    const customerId = uid('cust');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 1 }] })]);
    await store().carts.setItem(customerId, sku, 'M', 1);
    const short = await placeOrder(
      store(),
      input(sku, { customerId, clearCart: true, lines: [{ sku, size: 'M', quantity: 2, unitPriceMinor: 1, title: 'x' }] }),
    );
    expect(short).toMatchObject({ error: 'out_of_stock' });
    expect((await store().carts.get(customerId)).items).toHaveLength(1);
    created(await placeOrder(store(), input(sku, { customerId, clearCart: true })));
    expect((await store().carts.get(customerId)).items).toEqual([]);
  });

  it('one cart, two channels checking it out at once: exactly one order, stock taken once', async () => {
    const sku = uid('twochan');
    const customerId = uid('cust');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 5 }] })]);
    await store().carts.setItem(customerId, sku, 'M', 2);
    const lines = [{ sku, size: 'M', quantity: 2, unitPriceMinor: 4995, title: 'x' }];
    const [email, chat] = await Promise.all([
      placeOrder(store(), input(sku, { customerId, clearCart: true, channel: 'email', idempotencyKey: uid('amp-cart'), lines })),
      placeOrder(store(), input(sku, { customerId, clearCart: true, channel: 'whatsapp', idempotencyKey: uid('wa'), lines })),
    ]);
    const outcomes = [email, chat].map((r) => ('order' in r ? 'order' : r.error)).sort();
    expect(outcomes).toEqual(['cart_changed', 'order']);
    expect(await stockOf(sku)).toBe(3);
    expect(await orderCount(sku)).toBe(1);
  });

  it('refuses a cart order whose lines are not what the cart holds any more, and writes nothing', async () => {
    const sku = uid('changed');
    const customerId = uid('cust');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 5 }] })]);
    await store().carts.setItem(customerId, sku, 'M', 3);
    const result = await placeOrder(store(), input(sku, { customerId, clearCart: true }));
    expect(result).toEqual({ error: 'cart_changed' });
    expect(await stockOf(sku)).toBe(5);
    expect((await store().carts.get(customerId)).items).toEqual([{ sku, size: 'M', quantity: 3 }]);
  });

  it('lists a customer\'s orders newest first', async () => {
    const sku = uid('list');
    const customerId = uid('cust');
    await store().products.upsertMany([product(sku)]);
    const older = created(await placeOrder(store(), input(sku, { customerId, createdAt: '2025-03-01T10:00:00Z' })));
    const newer = created(await placeOrder(store(), input(sku, { customerId, createdAt: '2025-03-02T10:00:00+02:00' })));
    expect(newer.createdAt).toBe('2025-03-02T08:00:00.000Z');
    expect(await store().orders.listByCustomer(customerId)).toStrictEqual([newer, older]);
    expect(await store().orders.listByCustomer('nobody')).toEqual([]);
  });

  it('rejects malformed orders before writing', async () => {
    const sku = uid('bad');
    await store().products.upsertMany([product(sku)]);
    await expect(placeOrder(store(), input(sku, { lines: [] }))).rejects.toThrow(/at least one line/);
    await expect(
      placeOrder(store(), input(sku, { lines: [{ sku, size: 'M', quantity: 0, unitPriceMinor: 1, title: 'x' }] })),
    ).rejects.toThrow(/quantity/);
    await expect(
      placeOrder(store(), input(sku, { lines: [{ sku, size: 'M', quantity: 1, unitPriceMinor: 49.95, title: 'x' }] })),
    ).rejects.toThrow(/unitPriceMinor/);
    expect(await stockOf(sku)).toBe(5);
    expect(await orderCount(sku)).toBe(0);
  });

  it('a clash on a caller-given order number raises instead of overwriting', async () => {
    const sku = uid('num');
    await store().products.upsertMany([product(sku)]);
    const first = created(await placeOrder(store(), input(sku)));
    await expect(placeOrder(store(), input(sku, { number: first.number }))).rejects.toThrow();
    expect(await stockOf(sku)).toBe(4);
  });
});

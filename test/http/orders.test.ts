import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderViewSchema } from '../../src/shop/order-view.ts';
import { placeOrder, type Order } from '../../src/store/index.ts';
import { BACKENDS, dropPgSchema, PG_URL, uid } from '../store/backends.ts';
import { orderInput, product } from '../store/fixtures.ts';
import { openTestApp, removeDir, type TestApp } from './helpers.ts';

const TRACKING = 'https://tracking.postnord.example/track?id=00370712345678901234';

describe.each(BACKENDS)('the orders API (%s)', (backend) => {
  let t: TestApp;
  const pgSchema = backend === 'postgres' ? `t_orders_${randomBytes(6).toString('hex')}` : undefined;
  beforeAll(async () => {
    t = await openTestApp({ seed: false, ...(pgSchema ? { store: { databaseUrl: PG_URL, pgSchema } } : {}) });
  });
  afterAll(async () => {
    await t?.close();
    if (t) removeDir(t.dataDir);
    if (pgSchema) await dropPgSchema(pgSchema);
  });

  /** An order of one M of a product of its own (5 M in stock before it), as the checkout places it. */
  async function order(overrides: Parameters<typeof orderInput>[1] = {}): Promise<Order> {
    const sku = uid('SKU');
    await t.store.products.upsertMany([product(sku)]);
    const result = await placeOrder(t.store, orderInput(sku, overrides));
    if (!('order' in result)) throw new Error(JSON.stringify(result));
    return result.order;
  }
  const stockM = async (sku: string) => (await t.store.products.get(sku))!.sizes.find((s) => s.size === 'M')!.stock;
  const setStatus = (id: string, body: Record<string, unknown>) => request(t.app).post(`/v1/orders/${id}/status`).send(body);
  const feed = (query = '') => request(t.app).get(`/v1/orders${query}`);

  /** Walks the feed from `cursor` to its end, `limit` at a time. */
  async function drain(cursor: string | null, limit: number): Promise<{ ids: string[]; cursor: string | null; pages: number }> {
    const ids: string[] = [];
    let pages = 0;
    for (;;) {
      const res = await feed(`?limit=${limit}${cursor ? `&after=${cursor}` : ''}`).expect(200);
      pages++;
      ids.push(...(res.body.orders as { id: string }[]).map((o) => o.id));
      cursor = res.body.nextCursor;
      if (!res.body.hasMore) return { ids, cursor, pages };
    }
  }

  it('GET /v1/orders pages through the orders in the order they were placed, and a poller resumes where it stopped', async () => {
    const start = await drain(null, 100);
    const placed = [await order(), await order(), await order(), await order(), await order()];
    const walk = await drain(start.cursor, 2);
    expect(walk.ids).toEqual(placed.map((o) => o.id));
    expect(walk.pages).toBe(3);
    // Nothing new: the same cursor comes back, so the poller keeps its place.
    const idle = await feed(`?after=${walk.cursor}`).expect(200);
    expect(idle.body).toEqual({ orders: [], nextCursor: walk.cursor, hasMore: false });
    const later = await order();
    const next = await feed(`?after=${walk.cursor}`).expect(200);
    expect(next.body.orders.map((o: { id: string }) => o.id)).toEqual([later.id]);
    expect(() => orderViewSchema.parse(next.body.orders[0])).not.toThrow();
  });

  it('GET /v1/orders refuses a bad limit or cursor with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=101', 'limit'],
      ['?limit=two', 'limit'],
      ['?after=not-a-cursor', 'after'],
      [`?after=${Buffer.from('["x",1]').toString('base64url')}`, 'after'],
      ['?status=paid', 'status'],
    ] as const) {
      const res = await feed(query).expect(400);
      expect(res.body.error.code, query).toBe('invalid_request');
      expect(res.body.error.fields.map((f: { path: string }) => f.path), query).toEqual([field]);
    }
  });

  it('GET /v1/orders/:id shows the order by id or number; an unknown one is 404', async () => {
    const o = await order({ campaignId: 'autumn-drop', messageId: 'msg-1', template: 'price-drop', status: 'awaiting_payment', paymentLink: 'https://mail.example.com/pay/x?sig=y' });
    const res = await request(t.app).get(`/v1/orders/${o.id}`).expect(200);
    expect(orderViewSchema.parse(res.body)).toEqual({
      id: o.id,
      number: o.number,
      status: 'awaiting_payment',
      channel: 'email',
      customerId: 'cust-sophie',
      campaignId: 'autumn-drop',
      messageId: 'msg-1',
      template: 'price-drop',
      currency: 'EUR',
      totalMinor: 4995,
      total: 49.95,
      lines: [{ sku: o.lines[0]!.sku, size: 'M', quantity: 1, title: 'Linen shirt', unitPriceMinor: 4995, unitPrice: 49.95 }],
      shippingAddress: o.shippingAddress,
      paymentLink: 'https://mail.example.com/pay/x?sig=y',
      history: [],
      createdAt: o.createdAt,
      updatedAt: o.createdAt,
    });
    expect((await request(t.app).get(`/v1/orders/${o.number}`).expect(200)).body.id).toBe(o.id);
    const missing = await request(t.app).get('/v1/orders/no-such-order').expect(404);
    expect(missing.body.error.code).toBe('unknown_order');
    await setStatus('no-such-order', { status: 'paid' }).expect(404);
  });

  it('POST status refuses a bad status or a fulfilment without carrier or https tracking URL, with a 400 naming the field', async () => {
    const o = await order();
    for (const [body, field] of [
      [{ status: 'shipped' }, 'status'],
      [{}, 'status'],
      [{ status: 'fulfilled', trackingUrl: TRACKING }, 'carrier'],
      [{ status: 'fulfilled', carrier: 'PostNord' }, 'trackingUrl'],
      [{ status: 'fulfilled', carrier: 'PostNord', trackingUrl: 'http://tracking.postnord.example/1' }, 'trackingUrl'],
      [{ status: 'paid', carrier: 'PostNord' }, 'carrier'],
      [{ status: 'paid', note: 'x' }, 'note'],
    ] as const) {
      const res = await setStatus(o.id, body).expect(400);
      expect(res.body.error.fields.map((f: { path: string }) => f.path), JSON.stringify(body)).toEqual([field]);
    }
    expect((await t.store.orders.get(o.id))!.status).toBe('placed');
  });

  it('a valid change is recorded in the history and told once; the same request again is 200 with the same order', async () => {
    const o = await order({ status: 'awaiting_payment', paymentLink: 'https://mail.example.com/pay/x?sig=y' });
    const first = await setStatus(o.id, { status: 'paid' }).expect(200);
    expect(first.body.status).toBe('paid');
    expect(first.body.paymentLink).toBeUndefined();
    expect(first.body.history).toEqual([{ from: 'awaiting_payment', to: 'paid', at: expect.any(String) }]);
    const again = await setStatus(o.id, { status: 'paid' }).expect(200);
    expect(again.body).toEqual(first.body);
    const events = await t.store.webhooks.events({ orderId: o.id });
    expect(events.map((e) => e.type)).toEqual(['order.status_changed']);
    expect(events[0]!.data).toEqual({ order: first.body, change: { from: 'awaiting_payment', to: 'paid', at: first.body.updatedAt } });

    const shipped = await setStatus(o.id, { status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200);
    expect(shipped.body.fulfillment).toEqual({ carrier: 'PostNord', trackingUrl: TRACKING, fulfilledAt: shipped.body.updatedAt });
    expect((await setStatus(o.id, { status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200)).body).toEqual(shipped.body);
    const other = await setStatus(o.id, { status: 'fulfilled', carrier: 'DHL', trackingUrl: TRACKING }).expect(409);
    expect(other.body.error).toMatchObject({ code: 'already_fulfilled', fields: [{ path: 'carrier' }] });
    expect((await t.store.webhooks.events({ orderId: o.id })).map((e) => e.type)).toEqual(['order.status_changed', 'order.status_changed']);
  });

  it('an invalid transition is 409 naming the current and the requested state, and changes nothing', async () => {
    const o = await order();
    await setStatus(o.id, { status: 'cancelled', reason: 'customer called' }).expect(200);
    const res = await setStatus(o.id, { status: 'paid' }).expect(409);
    expect(res.body.error.code).toBe('invalid_transition');
    expect(res.body.error.message).toBe(`Order ${o.number} is cancelled; it cannot become paid. From cancelled it can become nothing: it is final.`);
    const shipped = await order();
    await setStatus(shipped.id, { status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200);
    const cancel = await setStatus(shipped.id, { status: 'cancelled' }).expect(409);
    expect(cancel.body.error.message).toContain('is fulfilled; it cannot become cancelled. From fulfilled it can become refunded.');
    expect((await t.store.orders.get(shipped.id))!.status).toBe('fulfilled');
  });

  it('cancelling puts the stock back once, also when the cancellation is sent twice at the same time; a shipped order refunded does not', async () => {
    const o = await order();
    const sku = o.lines[0]!.sku;
    expect(await stockM(sku)).toBe(4);
    const answers = await Promise.all([setStatus(o.id, { status: 'cancelled' }), setStatus(o.id, { status: 'cancelled' })]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await stockM(sku)).toBe(5);
    expect((await request(t.app).get(`/v1/catalog/products/${sku}`).expect(200)).body.sizes).toContainEqual({ size: 'M', stock: 5 });
    expect((await t.store.orders.statusChanges(o.id)).map((c) => c.to)).toEqual(['cancelled']);

    const paidThenRefunded = await order();
    await setStatus(paidThenRefunded.id, { status: 'paid' }).expect(200);
    await setStatus(paidThenRefunded.id, { status: 'refunded' }).expect(200);
    expect(await stockM(paidThenRefunded.lines[0]!.sku)).toBe(5);

    const shipped = await order();
    await setStatus(shipped.id, { status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200);
    await setStatus(shipped.id, { status: 'refunded' }).expect(200);
    expect(await stockM(shipped.lines[0]!.sku)).toBe(4);
  });

  it('GET /v1/orders/:id/confirmation renders the order-confirmation email as the order stands: shipped, with the tracking link', async () => {
    const o = await order({ locale: 'sv' });
    await setStatus(o.id, { status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200);
    const res = await request(t.app).get(`/v1/orders/${o.id}/confirmation`).expect(200);
    expect(res.body.email.subject).toBe(`Din order ${o.number} är på väg`);
    expect(res.body.email.html).toContain(`href="${TRACKING.replace('=', '&#x3D;')}"`);
    expect(res.body.email.text).toContain(`Spåra ditt paket: ${TRACKING}`);
    expect(res.body.email.text).toContain(`Order ${o.number} har skickats med PostNord.`);
    expect(res.body.whatsapp).toBeUndefined();
  });
});

describe('the orders feed on PostgreSQL', () => {
  let t: TestApp;
  const pgSchema = `t_orders_feed_${randomBytes(6).toString('hex')}`;
  beforeAll(async () => {
    t = await openTestApp({ seed: false, store: { databaseUrl: PG_URL, pgSchema } });
  });
  afterAll(async () => {
    await t?.close();
    if (t) removeDir(t.dataDir);
    await dropPgSchema(pgSchema);
  });

  it('never skips an order whose transaction commits after a later one: it shows once every older transaction has ended', async () => {
    // Two products: the fast order must not wait on the slow one's stock row.
    const sku = uid('SKU');
    const other = uid('SKU');
    await t.store.products.upsertMany([product(sku), product(other)]);
    const start = (await request(t.app).get('/v1/orders').expect(200)).body.nextCursor as string | null;
    const after = start ? `?after=${start}` : '';
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let slowId = '';
    let placedSlow!: () => void;
    const slowPlaced = new Promise<void>((r) => (placedSlow = r));
    // The slow order takes its transaction id first, and commits last.
    const slow = t.store.transaction(async (tx) => {
      const r = await placeOrder(tx, orderInput(sku));
      if (!('order' in r)) throw new Error('not placed');
      slowId = r.order.id;
      placedSlow();
      await held;
    });
    await slowPlaced;
    const fast = await placeOrder(t.store, orderInput(other));
    if (!('order' in fast)) throw new Error('not placed');
    const early = await request(t.app).get(`/v1/orders${after}`).expect(200);
    expect(early.body.orders).toEqual([]);
    release();
    await slow;
    const late = await request(t.app).get(`/v1/orders${after}`).expect(200);
    expect(late.body.orders.map((o: { id: string }) => o.id)).toEqual([slowId, fast.order.id]);
  });
});

import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../store/backends.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { customer, DAY, event, HOUR, openTriggerApp, postEvents, product, put, runs, type TriggerApp } from './helpers.ts';

const at = (ms: number) => new Date(Date.parse(NOW) + ms);

describe.each(BACKENDS)('catalog triggers on %s', (backend) => {
  const clock = createManualClock(NOW);
  let t: TriggerApp;

  beforeAll(async () => {
    // 40 days before the test date: the products' first prices, so 30 days of history cover every later change.
    clock.set(at(-40 * DAY).toISOString());
    t = await openTriggerApp(backend, clock);
    await put(t, '/v1/catalog/products', [product('PD-1', 100, { M: 5 }, { prices: { SEK: 1000 } }), product('PD-OTHER', 50), product('BS-1', 40, { M: 0, L: 0 })]);
    await put(t, '/v1/customers', [
      customer('a-viewer'),
      customer('b-wishlist'),
      customer('c-viewed-long-ago'),
      customer('d-bought'),
      customer('e-sek', { currency: 'SEK' }),
      customer('f-other-product'),
      customer('g-whatsapp', { phone: '+46701234567', whatsapp: true, profile: { whatsapp: { lastInboundAt: at(-HOUR).toISOString() } } }),
      customer('r-m'),
      customer('r-l'),
      customer('r-m-long-ago'),
    ]);
    clock.set(NOW);
    await postEvents(t, [
      event('product_viewed', 'a-viewer', at(-10 * DAY), { sku: 'PD-1' }),
      event('wishlist_added', 'b-wishlist', at(-3 * DAY), { sku: 'PD-1', size: 'M' }),
      event('product_viewed', 'c-viewed-long-ago', at(-40 * DAY + HOUR), { sku: 'PD-1' }),
      event('product_viewed', 'd-bought', at(-5 * DAY), { sku: 'PD-1' }),
      event('order_placed', 'd-bought', at(-2 * DAY), { orderId: 'shop-1', items: [{ sku: 'PD-1', size: 'M', quantity: 1 }] }),
      event('product_viewed', 'e-sek', at(-2 * DAY), { sku: 'PD-1' }),
      event('product_viewed', 'f-other-product', at(-2 * DAY), { sku: 'PD-OTHER' }),
      event('product_viewed', 'g-whatsapp', at(-1 * DAY), { sku: 'PD-1' }),
      event('back_in_stock_requested', 'r-m', at(-5 * DAY), { sku: 'BS-1', size: 'M' }),
      event('back_in_stock_requested', 'r-l', at(-5 * DAY), { sku: 'BS-1', size: 'L' }),
      event('back_in_stock_requested', 'r-m-long-ago', at(-70 * DAY), { sku: 'BS-1', size: 'M' }),
    ]);
  });

  afterAll(async () => {
    await t?.destroy();
  });

  it('fires a price drop only at N % below the recorded 30-day lowest, to the viewers in the window who have not bought it', async () => {
    const price = async (eur: number, hoursLater: number) => {
      clock.set(at(hoursLater * HOUR).toISOString());
      await put(t, '/v1/catalog/products', [product('PD-1', eur, { M: 5 }, { prices: { SEK: 1000 } })]);
      await t.settle();
    };
    // 5 % below 100: not enough.
    await price(95, 0);
    // Back up, then 11 % below the previous price but only 6 % below the 30-day lowest (95): still nothing.
    await price(100, 1);
    await price(89, 2);
    expect(await runs(t, 'price-drop')).toEqual([]);
    // 80 is 10.1 % below the lowest of the 30 days (89): it fires.
    await price(80, 3);
    const [run, ...more] = await runs(t, 'price-drop');
    expect(more).toEqual([]);
    expect(run).toMatchObject({
      status: 'dispatched',
      causeKey: `PD-1|EUR|${at(3 * HOUR).toISOString()}`,
      cause: { sku: 'PD-1', currency: 'EUR', price: 80, lowest30d: 89, percentBelowLowest30d: 10, since: at(3 * HOUR).toISOString() },
      recipients: 3,
    });
    // Not c (viewed 40 days ago), d (bought it since), e (another market) or f (another product).
    expect(run!.notified).toEqual([
      { customerId: 'a-viewer', channel: 'email', status: 'delivered' },
      { customerId: 'b-wishlist', channel: 'email', status: 'delivered' },
      // The WhatsApp window is open; no Twilio account is configured in this test.
      { customerId: 'g-whatsapp', phone: '+46*****4567', channel: 'whatsapp', status: 'failed', reason: 'not_configured' },
    ]);

    // The same price again, another dispatch, another tick: nothing fires twice.
    await price(80, 4);
    await t.triggers.tick();
    await t.settle();
    const again = await runs(t, 'price-drop');
    expect(again).toHaveLength(1);
    expect(again[0]!.notified.map((n) => n.status)).toEqual(['delivered', 'delivered', 'failed']);
  });

  it('tells of a restock only those who asked for that size, once per restock', async () => {
    clock.set(at(5 * HOUR).toISOString());
    await put(t, '/v1/catalog/products', [product('BS-1', 40, { M: 3, L: 0 })]);
    await t.settle();
    let list = await runs(t, 'back-in-stock');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ cause: { sku: 'BS-1', size: 'M', stock: 3 }, recipients: 1 });
    // r-l asked for L; r-m-long-ago asked 70 days ago, outside the 60-day window.
    expect(list[0]!.notified).toEqual([{ customerId: 'r-m', channel: 'email', status: 'delivered' }]);

    // More M stock is no restock; L coming in is one, for r-l.
    clock.set(at(6 * HOUR).toISOString());
    await put(t, '/v1/catalog/products', [product('BS-1', 40, { M: 4, L: 2 })]);
    await t.settle();
    list = await runs(t, 'back-in-stock');
    expect(list.map((r) => [r.cause.size, r.notified.map((n) => n.customerId)])).toEqual([
      ['L', ['r-l']],
      ['M', ['r-m']],
    ]);

    // M sells out and comes back: r-m's request was answered by the first restock, nobody new asked.
    clock.set(at(7 * HOUR).toISOString());
    await put(t, '/v1/catalog/products', [product('BS-1', 40, { M: 0, L: 2 })]);
    clock.set(at(8 * HOUR).toISOString());
    await put(t, '/v1/catalog/products', [product('BS-1', 40, { M: 2, L: 2 })]);
    await t.settle();
    expect(await runs(t, 'back-in-stock')).toHaveLength(2);
  });

  it('lists the triggers, changes one for every instance, and answers 400 naming the field', async () => {
    const list = await request(t.app).get('/v1/triggers').expect(200);
    expect(list.body.triggers.map((x: { name: string; enabled: boolean }) => [x.name, x.enabled])).toEqual([
      ['price-drop', true],
      ['back-in-stock', true],
      ['abandoned-cart', true],
      ['birthday', true],
      ['win-back', true],
    ]);
    const bad = await request(t.app).put('/v1/triggers/price-drop').send({ minPercent: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['minPercent']);
    expect((await request(t.app).put('/v1/triggers/price-drop').send({ template: 'nope' })).body.error.fields[0].path).toBe('template');
    expect((await request(t.app).get('/v1/triggers/nope/runs')).status).toBe(404);
    const changed = await request(t.app).put('/v1/triggers/price-drop').send({ minPercent: 50, enabled: false }).expect(200);
    expect(changed.body).toMatchObject({ name: 'price-drop', enabled: false, minPercent: 50, windowDays: 30 });
    // Off: a 20 % drop below the lowest fires nothing.
    clock.set(at(9 * HOUR).toISOString());
    await put(t, '/v1/catalog/products', [product('PD-1', 60, { M: 5 }, { prices: { SEK: 1000 } })]);
    await t.settle();
    expect(await runs(t, 'price-drop')).toHaveLength(1);
    await request(t.app).put('/v1/triggers/price-drop').send({ enabled: true, minPercent: 10 }).expect(200);
    // A change leaves the settings it does not name as they were (triggers.json's win-back picks).
    const winBack = await request(t.app).put('/v1/triggers/win-back').send({ channels: ['email'] }).expect(200);
    expect(winBack.body).toMatchObject({ channels: ['email'], atRiskDays: 120, offer: { code: 'COMEBACK20' } });
    expect(winBack.body.recommendations.map((r: { sku: string }) => r.sku)).toEqual(['NL-JNS-001', 'NL-JNS-002', 'NL-TOP-001']);
  });
});

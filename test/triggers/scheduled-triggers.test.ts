import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../store/backends.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { customer, DAY, event, HOUR, openTriggerApp, postEvents, product, put, runs, type TriggerApp } from './helpers.ts';

const at = (ms: number) => new Date(Date.parse(NOW) + ms);
const line = { sku: 'CART-1', size: 'M', quantity: 1 };
/** The products triggers.json's birthday and win-back picks name. */
const PICKS = ['NL-JNS-001', 'NL-JNS-002', 'NL-TOP-001', 'NL-DRS-001', 'NL-TOP-003'];

describe.each(BACKENDS)('scheduled triggers on %s', (backend) => {
  const clock = createManualClock(NOW);
  let t: TriggerApp;
  const tickAt = async (ms: number) => {
    clock.set(at(ms).toISOString());
    const result = await t.triggers.tick();
    await t.settle();
    return result;
  };

  beforeAll(async () => {
    t = await openTriggerApp(backend, clock);
    await put(t, '/v1/catalog/products', [product('CART-1', 30, { M: 9 }), ...PICKS.map((sku) => product(sku, 60))]);
    const lastOrder = (days: number) => ({ orders: { count: 2, totalSpent: 120, lastOrderAt: at(-days * DAY).toISOString() } });
    await put(t, '/v1/customers', [
      customer('cart-left'),
      customer('cart-ordered'),
      customer('cart-emptied'),
      customer('cart-in-email'),
      customer('bday-tokyo', { timezone: 'Asia/Tokyo', profile: { birthday: '1990-11-23' } }),
      customer('bday-london', { timezone: 'Europe/London', profile: { birthday: '1985-11-23' } }),
      customer('wb-lapsed', { profile: lastOrder(121) }),
      customer('wb-recent', { profile: lastOrder(100) }),
      customer('wb-ordered-in-shop', { profile: lastOrder(200) }),
    ]);
    await postEvents(t, [
      event('cart_updated', 'cart-left', at(0), { items: [line] }),
      event('cart_updated', 'cart-ordered', at(0), { items: [line] }),
      event('order_placed', 'cart-ordered', at(HOUR), { items: [line] }),
      event('cart_updated', 'cart-emptied', at(0), { items: [line] }),
      event('cart_updated', 'cart-emptied', at(2 * HOUR), { items: [] }),
      event('order_placed', 'wb-ordered-in-shop', at(-10 * DAY), { items: [{ sku: 'NL-JNS-001', quantity: 1 }] }),
    ]);
    // A cart filled inside an AMP email (inboxcart's own cart, no event).
    await t.store.carts.addItem('cart-in-email', 'CART-1', 'M', 2);
  });

  afterAll(async () => {
    await t?.destroy();
  });

  it('reminds of a cart left CART_ABANDON_HOURS (4) with no order since, once per cart', async () => {
    await tickAt(3 * HOUR);
    expect(await runs(t, 'abandoned-cart')).toEqual([]);
    await tickAt(4 * HOUR);
    const list = await runs(t, 'abandoned-cart');
    expect(list.map((r) => [r.cause.customerId, r.notified.map((n) => [n.channel, n.status])]).sort()).toEqual([
      ['cart-in-email', [['email', 'delivered']]],
      ['cart-left', [['email', 'delivered']]],
    ]);
    expect(list.find((r) => r.cause.customerId === 'cart-left')!.cause).toMatchObject({ cartUpdatedAt: at(0).toISOString(), items: [line], hours: 4 });
    await tickAt(5 * HOUR);
    expect(await runs(t, 'abandoned-cart')).toHaveLength(2);

    // A changed cart is a new cause; the reminder then meets the campaign engine's frequency cap (1 a day).
    await postEvents(t, [event('cart_updated', 'cart-left', at(6 * HOUR), { items: [line, { ...line, sku: 'NL-TOP-001' }] })]);
    await tickAt(10 * HOUR);
    const after = await runs(t, 'abandoned-cart');
    expect(after).toHaveLength(3);
    expect(after[0]!.notified).toEqual([{ customerId: 'cart-left', channel: 'email', status: 'suppressed', reason: 'frequency_cap' }]);
  });

  it("wishes a happy birthday at the start of the birthday in the customer's timezone, once a year", async () => {
    // The ticks so far ran at 3, 4, 5 and 10 hours past 10:00 UTC: 15:00 UTC was midnight in
    // Tokyo on the 23rd, and London is still on the 22nd.
    let list = await runs(t, 'birthday');
    expect(list.map((r) => [r.cause.customerId, r.cause.localDate, r.firedAt])).toEqual([['bday-tokyo', '2026-11-23', at(5 * HOUR).toISOString()]]);
    // Midnight in Tokyo is inside its quiet hours: the engine holds the email until 08:00 local.
    expect(list[0]!.notified).toEqual([{ customerId: 'bday-tokyo', channel: 'email', status: 'deferred', reason: 'quiet_hours' }]);
    await tickAt(14 * HOUR);
    list = await runs(t, 'birthday');
    expect(list.map((r) => r.cause.customerId)).toEqual(['bday-london', 'bday-tokyo']);
    await tickAt(30 * HOUR);
    expect(await runs(t, 'birthday')).toHaveLength(2);
  });

  it('wins back a customer crossing SEGMENT_AT_RISK_DAYS without an order, once per lapse', async () => {
    let list = await runs(t, 'win-back');
    // wb-ordered-in-shop's profile is 200 days old, but the shop reported an order 10 days ago.
    expect(list.map((r) => [r.cause.customerId, r.cause.daysWithoutOrder])).toEqual([['wb-lapsed', 121]]);
    expect(list[0]!.notified).toEqual([{ customerId: 'wb-lapsed', channel: 'email', status: 'delivered' }]);
    // 20 days on, wb-recent crosses 120 days; wb-lapsed is not told again.
    await tickAt(20 * DAY);
    list = await runs(t, 'win-back');
    expect(list.map((r) => r.cause.customerId)).toEqual(['wb-recent', 'wb-lapsed']);
    // wb-lapsed orders, and lapses again 120 days later: a new lapse, a new message.
    await postEvents(t, [event('order_placed', 'wb-lapsed', at(21 * DAY), { items: [{ sku: 'NL-JNS-002', quantity: 1 }] })]);
    await tickAt(142 * DAY);
    const all = await runs(t, 'win-back');
    expect(all.filter((r) => r.cause.customerId === 'wb-lapsed').map((r) => r.cause.lastOrderAt)).toEqual([at(21 * DAY).toISOString(), at(-121 * DAY).toISOString()]);
    // By then the others' last orders (the cart order, the shop's) have lapsed too.
    expect(all.map((r) => r.cause.customerId).sort()).toEqual(['cart-ordered', 'wb-lapsed', 'wb-lapsed', 'wb-ordered-in-shop', 'wb-recent']);
    await tickAt(143 * DAY);
    expect(await runs(t, 'win-back')).toHaveLength(5);
  });
});

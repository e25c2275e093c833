import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, uid } from '../store/backends.ts';
import { failInserts } from '../support/fail-inserts.ts';
import { testClock } from '../support/test-clock.ts';
import { messageSid, openWhatsAppApp, registerShopper, WA_FROM, type WhatsAppTestApp } from './helpers.ts';

/**
 * Regression tests for the crash test's WhatsApp findings: a message cut off by a crash was
 * dropped when Twilio retried it within the 30 s lease ("already handled (Twilio retry)"), and
 * a retried "yes" whose order had been committed re-priced against the stock that order took
 * (item: "sold out") or the cart it emptied (cart: "your cart is empty").
 */
describe.each(BACKENDS)('a WhatsApp message cut off mid-way (%s)', (backend) => {
  let t: WhatsAppTestApp;
  beforeAll(async () => {
    t = await openWhatsAppApp(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A customer with a card on file, WhatsApp consent and a number no other test uses, and a one-size product with one unit left. */
  async function lastUnitShopper(): Promise<{ customerId: string; phone: string; sku: string }> {
    const sku = uid('NL-LAST');
    await request(t.app)
      .put('/v1/catalog/products')
      .send([{ sku, title: 'Last One Beanie', price: 25, currency: 'EUR', url: `https://shop.nordlys.example/p/${sku}`, sizes: [{ size: 'ONE', stock: 1 }] }])
      .expect(200);
    const { customerId, phone } = await registerShopper(t.store, { whatsapp: true });
    return { customerId, phone, sku };
  }

  /** The item confirm step, as the chat leaves it after "1" at the quantity step. */
  async function atItemConfirm(s: { customerId: string; phone: string; sku: string }): Promise<void> {
    await t.store.conversations.save(
      {
        customerId: s.customerId,
        phone: s.phone,
        state: { flowId: uid('flow'), mode: 'item', sku: s.sku, size: 'ONE', quantity: 1 },
        step: 'confirm',
        locale: 'en',
        expiresAt: new Date(testClock.now().getTime() + 3_600_000).toISOString(),
      },
      0,
    );
  }

  const yes = (phone: string, sid: string) => ({ MessageSid: sid, AccountSid: t.twilio.accountSid, From: `whatsapp:${phone}`, To: WA_FROM, Body: 'Yes', NumMedia: '0' });
  const conversationRow = (customerId: string) => t.store.db.selectFrom('whatsapp_conversations').selectAll().where('customer_id', '=', customerId).executeTakeFirstOrThrow();
  const sentTo = (phone: string) => t.twilio.sent.filter((m) => m.To === `whatsapp:${phone}`);
  const stock = async (sku: string) => (await t.store.products.get(sku))!.sizes[0]!.stock;

  async function post(params: Record<string, string>): Promise<request.Response> {
    const res = await t.post('/whatsapp/v1/inbound', params);
    await t.whatsapp.idle();
    return res;
  }

  /**
   * What the previous version left when it died between committing the order and completing
   * the turn: the order (stock taken, cart emptied), but the conversation still at the confirm
   * step, the claim pending within its lease, no reply queued. Reproduced by handling "yes" in
   * full and then putting those three back as they were.
   */
  async function crashAfterOrder(s: { customerId: string; phone: string }, sid: string): Promise<void> {
    const before = await conversationRow(s.customerId);
    expect((await post(yes(s.phone, sid))).status).toBe(200);
    expect(await t.store.orders.listByCustomer(s.customerId)).toHaveLength(1);
    const key = `twilio:inbound:${sid}`;
    await t.store.db.updateTable('whatsapp_conversations').set(before).where('customer_id', '=', s.customerId).execute();
    await t.store.db.updateTable('processed_events').set({ status: 'pending', result: null, completed_at: null, created_at: testClock.now().toISOString() }).where('key', '=', key).execute();
    await t.store.db.deleteFrom('whatsapp_replies').where('event_key', '=', key).execute();
  }

  async function expectConfirmedOnce(s: { customerId: string; phone: string; sku: string }, sentBefore: number): Promise<void> {
    const orders = await t.store.orders.listByCustomer(s.customerId);
    expect(orders).toHaveLength(1);
    const replies = sentTo(s.phone).slice(sentBefore);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.Body).toContain(`your order ${orders[0]!.number} is confirmed`);
    expect(await stock(s.sku)).toBe(0);
    expect((await conversationRow(s.customerId)).step).toBe('done');
  }

  it('item mode, the last unit: Twilio\'s retry within the lease is processed and confirms the order that exists, not "sold out"', async () => {
    const s = await lastUnitShopper();
    await atItemConfirm(s);
    const sid = messageSid();
    await crashAfterOrder(s, sid);
    const sentBefore = sentTo(s.phone).length;

    const retry = await post(yes(s.phone, sid));
    expect(retry.status).toBe(200);
    await expectConfirmedOnce(s, sentBefore);
    expect(await t.store.events.get(`twilio:inbound:${sid}`)).toMatchObject({ status: 'completed' });
  });

  it('cart mode: the retry confirms the order that emptied the cart, not "your cart is empty"', async () => {
    const s = await lastUnitShopper();
    await t.store.carts.setItem(s.customerId, s.sku, 'ONE', 1);
    await post({ ...yes(s.phone, messageSid()), Body: 'cart' });
    await post({ ...yes(s.phone, messageSid()), Body: 'Check out' });
    expect((await conversationRow(s.customerId)).step).toBe('confirm');
    const sid = messageSid();
    await crashAfterOrder(s, sid);
    expect((await t.store.carts.get(s.customerId)).items).toEqual([]);
    const sentBefore = sentTo(s.phone).length;

    expect((await post(yes(s.phone, sid))).status).toBe(200);
    await expectConfirmedOnce(s, sentBefore);
  });

  it('a turn that fails mid-way leaves no claim, order, queued reply or conversation change, and the retry is processed in full', async () => {
    const s = await lastUnitShopper();
    await atItemConfirm(s);
    const conversation = await conversationRow(s.customerId);
    const sid = messageSid();
    // The order is placed and the conversation saved; queuing the replies then fails.
    const restore = await failInserts(t.store, 'whatsapp_replies', 'customer_id', s.customerId);
    const failed = await post(yes(s.phone, sid));
    await restore();
    expect(failed.status).toBe(500);
    expect(await t.store.events.get(`twilio:inbound:${sid}`)).toBeUndefined();
    expect(await t.store.orders.listByCustomer(s.customerId)).toEqual([]);
    expect(await stock(s.sku)).toBe(1);
    expect(await t.store.db.selectFrom('whatsapp_replies').select('event_key').where('customer_id', '=', s.customerId).execute()).toEqual([]);
    expect(await conversationRow(s.customerId)).toEqual(conversation);
    expect((await t.store.customers.get(s.customerId))!.lastInboundAt).toBeUndefined();
    expect(sentTo(s.phone)).toEqual([]);

    expect((await post(yes(s.phone, sid))).status).toBe(200);
    await expectConfirmedOnce(s, 0);
  });

  it('the same message delivered twice at once is handled once: one order, one reply', async () => {
    const s = await lastUnitShopper();
    await atItemConfirm(s);
    const params = yes(s.phone, messageSid());
    const answers = await Promise.all([t.post('/whatsapp/v1/inbound', params), t.post('/whatsapp/v1/inbound', params)]);
    await t.whatsapp.idle();
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await expectConfirmedOnce(s, 0);
  });
});

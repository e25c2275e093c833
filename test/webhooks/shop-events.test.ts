import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDispatcher } from '../../src/channels/webhooks/webhook-dispatcher.ts';
import { signUnsubscribeToken } from '../../src/commerce/unsubscribe-token.ts';
import { mintToken, SENDER } from '../amp/amp-kit.ts';
import { BACKENDS, uid } from '../store/backends.ts';
import { failInserts } from '../support/fail-inserts.ts';
import { createManualSchedule } from '../support/manual-schedule.ts';
import { testClock } from '../support/test-clock.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { openWhatsAppApp, registerShopper, type WhatsAppTestApp } from '../whatsapp/helpers.ts';

const SECRET = 'whsec_test_0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a';

/**
 * Opt-outs, unsubscribes and quiz answers are events too (shared/DESIGN.md, "The loop with the
 * shop"), written in the transaction of the change: the change and its event commit together,
 * and a repeat that changes nothing tells the shop nothing.
 */
describe.each(BACKENDS)('customer events for the shop (%s)', (backend) => {
  let t: WhatsAppTestApp;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET, now: testClock.now });
    t = await openWhatsAppApp(backend, {
      env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, AMP_ALLOWED_SENDERS: SENDER },
      webhookTimers: { wake: createManualSchedule().schedule, timeout: createManualSchedule().schedule },
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  async function settle(): Promise<void> {
    await t.whatsapp.idle();
    await (t.app.locals.webhooks as WebhookDispatcher).idle();
  }
  const customerOf = (data: Record<string, unknown>) => data.customerId ?? (data.order as { customerId?: string } | undefined)?.customerId;
  const received = (customerId: string) => receiver.accepted().filter((r) => customerOf(r.body.data) === customerId).map((r) => ({ type: r.type, data: r.body.data, verified: r.verified }));

  it('an unsubscribe is told once, with where it came from', async () => {
    const customerId = uid('cust-unsub');
    const token = signUnsubscribeToken({ sub: customerId, cmp: 'autumn', loc: 'en' }, new Date(testClock.now().getTime() + 86_400_000), t.config.tokenKeys);
    await request(t.app).post(`/u/${token}`).type('form').send('List-Unsubscribe=One-Click').expect(200);
    await request(t.app).post(`/u/${token}`).type('form').send('List-Unsubscribe=One-Click').expect(200);
    await settle();
    expect(received(customerId)).toEqual([
      { type: 'customer.email_unsubscribed', data: { customerId, channel: 'email', source: 'email:one-click', campaignId: 'autumn' }, verified: true },
    ]);
  });

  it('a WhatsApp STOP is told once, with the word the customer sent', async () => {
    const { customerId, phone } = await registerShopper(t.store, { whatsapp: true });
    await t.say(phone, 'STOP');
    await t.say(phone, 'stop');
    await settle();
    expect(received(customerId)).toEqual([{ type: 'customer.whatsapp_opted_out', data: { customerId, channel: 'whatsapp', source: 'whatsapp:STOP' }, verified: true }]);
  });

  it('quiz answers are told with all the preferences now stored', async () => {
    const customerId = uid('cust-quiz');
    await t.store.customers.setPreferences(customerId, { skinType: 'oily' });
    const token = mintToken(t.config.tokenKeys, { sub: customerId, msg: 'msg-quiz-1', cmp: 'skin-week', tpl: 'skin-quiz', skus: ['NL-SKN-001'], currency: 'EUR', locale: 'en' });
    const res = await request(t.app).post(`/amp/v1/survey?token=${token}`).set('AMP-Email-Sender', SENDER).type('form').send('skinType=dry&concerns=dullness');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await settle();
    expect(received(customerId)).toEqual([
      {
        type: 'customer.preferences_updated',
        data: {
          customerId,
          source: 'amp:skin-quiz',
          template: 'skin-quiz',
          campaignId: 'skin-week',
          messageId: 'msg-quiz-1',
          answers: { skinType: 'dry', concerns: ['dullness'] },
          preferences: { skinType: 'dry', concerns: ['dullness'] },
        },
        verified: true,
      },
    ]);
  });

  it('no event without its change, and no change without its event: a failing event write rolls back the order, the status change and the unsubscribe', async () => {
    const { customerId } = await registerShopper(t.store, { whatsapp: false });
    const sku = uid('NL-ATOM');
    await t.store.products.upsertMany([{ sku, title: 'Atom Cap', price: 15, currency: 'EUR', url: `https://shop.nordlys.example/p/${sku}`, sizes: [{ size: 'ONE', stock: 3 }] }]);
    const stock = async () => (await t.store.products.get(sku))!.sizes[0]!.stock;
    const token = mintToken(t.config.tokenKeys, { sub: customerId, msg: uid('msg'), tpl: 'recommendations', skus: [sku], currency: 'EUR', locale: 'en' });
    const checkout = () => request(t.app).post(`/amp/v1/checkout?token=${token}`).set('AMP-Email-Sender', SENDER).type('form').send({ sku, size: 'ONE', quantity: '1' });

    let restore = await failInserts(t.store, 'webhook_events', 'customer_id', customerId);
    expect((await checkout()).status).toBe(500);
    expect(await t.store.orders.listByCustomer(customerId)).toEqual([]);
    expect(await stock()).toBe(3);
    await restore();
    const placed = await checkout();
    expect(placed.status).toBe(200);
    expect(await stock()).toBe(2);

    restore = await failInserts(t.store, 'webhook_events', 'order_id', placed.body.orderId);
    await request(t.app).post(`/v1/orders/${placed.body.orderId}/status`).send({ status: 'cancelled' }).expect(500);
    expect((await t.store.orders.get(placed.body.orderId))!.status).toBe('placed');
    expect(await t.store.orders.statusChanges(placed.body.orderId)).toEqual([]);
    expect(await stock()).toBe(2);
    await restore();

    restore = await failInserts(t.store, 'webhook_events', 'customer_id', customerId);
    const unsubscribe = signUnsubscribeToken({ sub: customerId }, new Date(testClock.now().getTime() + 86_400_000), t.config.tokenKeys);
    await request(t.app).post(`/u/${unsubscribe}`).type('form').send('List-Unsubscribe=One-Click').expect(500);
    expect(await t.store.consents.get(customerId, 'email')).toBeUndefined();
    await restore();
    await settle();
    expect(received(customerId).map((e) => e.type)).toEqual(['order.created']);
  });
});

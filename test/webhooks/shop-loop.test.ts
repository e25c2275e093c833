import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDispatcher } from '../../src/channels/webhooks/webhook-dispatcher.ts';
import { mintToken, SENDER } from '../amp/amp-kit.ts';
import { BACKENDS, uid } from '../store/backends.ts';
import { createManualSchedule } from '../support/manual-schedule.ts';
import { testClock } from '../support/test-clock.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { openWhatsAppApp, registerShopper, type WhatsAppTestApp } from '../whatsapp/helpers.ts';

const SECRET = 'whsec_test_5f0c8e1d2b3a49768c1e0f2d3b4a5968';
const TRACKING = 'https://tracking.postnord.example/track?id=00370712345678901234';

/**
 * The loop with the shop, end to end (issue 17): an order placed in the email and one placed in
 * the chat reach the shop's receiver, signed, once each however often the receiver fails or
 * hangs; the shop marks them paid and shipped, and the customer hears of it.
 */
describe.each(BACKENDS)('orders reach the shop and its answers come back (%s)', (backend) => {
  let t: WhatsAppTestApp;
  let receiver: WebhookReceiver;
  const wake = createManualSchedule();
  const timeouts = createManualSchedule();
  const opened: WhatsAppTestApp[] = [];
  const env = () => ({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, AMP_ALLOWED_SENDERS: SENDER, WEBHOOK_TIMEOUT_MS: '2000' });

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET, now: testClock.now });
    t = await openWhatsAppApp(backend, { env: env(), webhookTimers: { wake: wake.schedule, timeout: timeouts.schedule } });
  });
  afterAll(async () => {
    for (const app of opened) await app.close();
    await t?.close();
    await receiver?.close();
  });

  const dispatcher = (app = t) => app.app.locals.webhooks as WebhookDispatcher;
  async function settle(app = t): Promise<void> {
    await app.whatsapp.idle();
    await dispatcher(app).idle();
  }
  /**
   * Time moves on until every pending delivery is due (retry times are jittered), and the
   * planned pass runs (`wait`: and ends).
   */
  async function nextPass(app = t, schedule = wake, wait = true): Promise<void> {
    const latest = await app.store.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.max('next_attempt_at').as('at')).where('state', '=', 'pending').executeTakeFirst();
    const untilDue = latest?.at ? Date.parse(latest.at) - testClock.now().getTime() : 0;
    testClock.advance(Math.max(0, untilDue, ...schedule.pendingMs()));
    schedule.runPending();
    if (wait) await settle(app);
  }
  const acceptedIds = () => receiver.accepted().map((r) => r.id);

  async function product(): Promise<string> {
    const sku = uid('NL-LOOP');
    await t.store.products.upsertMany([{ sku, title: 'Loop Beanie', price: 25, currency: 'EUR', url: `https://shop.nordlys.example/p/${sku}`, sizes: [{ size: 'ONE', stock: 10 }] }]);
    return sku;
  }

  /** An AMP "buy now" from an email of campaign `autumn`; the customer has an address but no saved card. */
  async function emailOrder(options: { whatsapp?: boolean; lastInboundAt?: string } = {}): Promise<{ orderId: string; customerId: string; phone: string; paymentUrl?: string }> {
    const sku = await product();
    const { customerId, phone } = await registerShopper(t.store, { whatsapp: options.whatsapp ?? false, ...(options.lastInboundAt ? { lastInboundAt: options.lastInboundAt } : {}) });
    const stored = (await t.store.customers.get(customerId))!;
    await t.store.customers.upsert({ ...stored, paymentMethod: undefined });
    const token = mintToken(t.config.tokenKeys, { sub: customerId, msg: uid('msg'), cmp: 'autumn', tpl: 'recommendations', skus: [sku], currency: 'EUR', locale: 'en' });
    const res = await request(t.app).post(`/amp/v1/checkout?token=${token}`).set('AMP-Email-Sender', SENDER).type('form').send({ sku, size: 'ONE', quantity: '1' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return { orderId: res.body.orderId, customerId, phone, paymentUrl: res.body.paymentUrl };
  }

  /** "Yes" at the chat's confirm step of one item. */
  async function whatsappOrder(): Promise<{ orderId: string; customerId: string; phone: string }> {
    const sku = await product();
    const { customerId, phone } = await registerShopper(t.store, { whatsapp: true });
    await t.store.conversations.save(
      {
        customerId,
        phone,
        state: { flowId: uid('flow'), mode: 'item', sku, size: 'ONE', quantity: 1 },
        step: 'confirm',
        locale: 'en',
        expiresAt: new Date(testClock.now().getTime() + 3_600_000).toISOString(),
      },
      0,
    );
    expect((await t.say(phone, 'Yes')).status).toBe(200);
    const [order] = await t.store.orders.listByCustomer(customerId);
    return { orderId: order!.id, customerId, phone };
  }

  let emailed: Awaited<ReturnType<typeof emailOrder>>;
  let chatted: Awaited<ReturnType<typeof whatsappOrder>>;

  it('an email order and a WhatsApp order each reach the receiver exactly once, signed, through a 500 and a timeout', async () => {
    // The pass an instance runs at start (for what an earlier process left) finds nothing.
    await nextPass();
    receiver.respond = (r) => (r.attempt === 1 ? 500 : r.attempt === 2 ? 'hang' : 200);
    emailed = await emailOrder();
    chatted = await whatsappOrder();
    await settle();
    const events = [...(await t.store.webhooks.events({ orderId: emailed.orderId })), ...(await t.store.webhooks.events({ orderId: chatted.orderId }))];
    expect(events.map((e) => [e.type, (e.data.order as { channel: string }).channel])).toEqual([
      ['order.created', 'email'],
      ['order.created', 'whatsapp'],
    ]);
    expect(receiver.requests.map((r) => [r.id, r.answer])).toEqual(events.map((e) => [e.id, 500]));

    // The retry: the receiver holds both requests without answering, until the timeout ends them.
    await nextPass(t, wake, false);
    await receiver.waitFor(() => receiver.hanging() === 2, 'two hanging requests');
    expect(timeouts.runPending()).toBe(2);
    await settle();
    await nextPass();

    expect(acceptedIds().sort()).toEqual(events.map((e) => e.id).sort());
    expect(receiver.requests).toHaveLength(6);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    for (const e of events) {
      const got = receiver.accepted().find((r) => r.id === e.id)!;
      expect(got.body).toEqual({ id: e.id, type: 'order.created', createdAt: e.createdAt, data: e.data });
      expect(got.headers['inboxcart-event-type']).toBe('order.created');
      expect(got.headers['content-type']).toBe('application/json');
    }
    const order = receiver.accepted().find((r) => r.id === events[0]!.id)!.body.data.order as Record<string, unknown>;
    expect(order).toMatchObject({ id: emailed.orderId, status: 'awaiting_payment', channel: 'email', campaignId: 'autumn', template: 'recommendations', paymentLink: emailed.paymentUrl });

    const listed = await request(t.app).get(`/v1/webhooks/deliveries?eventId=${events[0]!.id}`).expect(200);
    expect(listed.body.deliveries).toEqual([
      expect.objectContaining({ eventId: events[0]!.id, eventType: 'order.created', url: receiver.url, state: 'delivered', attempts: 3, lastStatus: 200, deliveredAt: expect.any(String) }),
    ]);
    expect(listed.body.deliveries[0].lastError).toBeUndefined();
    expect(listed.body.deliveries[0].nextAttemptAt).toBeUndefined();
  });

  it('the shop marks one paid and one fulfilled: the receiver hears each after its order, the customer gets the tracking message, /pay shows it paid', async () => {
    receiver.respond = () => 200;
    const sentBefore = t.twilio.sent.length;
    await request(t.app).post(`/v1/orders/${emailed.orderId}/status`).send({ status: 'paid' }).expect(200);
    const shipped = await request(t.app).post(`/v1/orders/${chatted.orderId}/status`).send({ status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200);
    await settle();

    const changes = receiver.accepted().filter((r) => r.type === 'order.status_changed');
    expect(changes.map((r) => [(r.body.data.order as { id: string }).id, r.body.data.change])).toEqual([
      [emailed.orderId, { from: 'awaiting_payment', to: 'paid', at: expect.any(String) }],
      [chatted.orderId, { from: 'placed', to: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING, at: shipped.body.updatedAt }],
    ]);
    for (const { orderId } of [emailed, chatted]) {
      const types = receiver.accepted().filter((r) => (r.body.data.order as { id?: string } | undefined)?.id === orderId).map((r) => r.type);
      expect(types).toEqual(['order.created', 'order.status_changed']);
    }

    const update = t.twilio.sent.slice(sentBefore);
    expect(update).toHaveLength(1);
    const number = shipped.body.number as string;
    expect(update[0]).toMatchObject({ To: `whatsapp:${chatted.phone}` });
    expect(update[0]!.Body).toBe(`Hi Alva, your order ${number} is on its way with PostNord.\nFollow your parcel here: ${TRACKING}`);
    // Reported twice (a retried request): one event, one message.
    await request(t.app).post(`/v1/orders/${chatted.orderId}/status`).send({ status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200);
    await settle();
    expect(t.twilio.sent.length).toBe(sentBefore + 1);
    expect(receiver.accepted().filter((r) => r.type === 'order.status_changed')).toHaveLength(2);

    const pay = new URL(emailed.paymentUrl!);
    const page = await request(t.app).get(pay.pathname + pay.search).expect(200);
    expect(page.text).toContain('<title>This order is paid');
    expect(page.text).not.toContain('class="btn"');
  });

  it('outside the 24-hour window the tracking message goes as the approved template', async () => {
    const sid = `HX${'5e'.repeat(16)}`;
    await t.store.whatsappContents.upsert({ key: 'template:inboxcart_order_confirmation:en', sid, friendlyName: 'inboxcart_order_confirmation_en', fingerprint: 'test', approvalStatus: 'approved' });
    await t.whatsapp.contentSids.reload();
    const o = await emailOrder({ whatsapp: true, lastInboundAt: new Date(testClock.now().getTime() - 30 * 3_600_000).toISOString() });
    await settle();
    const confirmation = t.twilio.sent.filter((m) => m.To === `whatsapp:${o.phone}`);
    expect(confirmation.map((m) => m.ContentSid)).toEqual([sid]);
    await request(t.app).post(`/v1/orders/${o.orderId}/status`).send({ status: 'paid' }).expect(200);
    await request(t.app).post(`/v1/orders/${o.orderId}/status`).send({ status: 'fulfilled', carrier: 'PostNord', trackingUrl: TRACKING }).expect(200);
    await settle();
    const sent = t.twilio.sent.filter((m) => m.To === `whatsapp:${o.phone}`);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ ContentSid: sid, ContentVariables: { '3': `It has shipped with PostNord; follow your parcel here: ${TRACKING}` } });
  });

  it("an order's later event never overtakes its earlier one, even while the earlier one is failing", async () => {
    receiver.respond = (r) => (r.type === 'order.created' && r.attempt === 1 ? 503 : 200);
    const o = await whatsappOrder();
    await settle();
    await request(t.app).post(`/v1/orders/${o.orderId}/status`).send({ status: 'cancelled' }).expect(200);
    await settle();
    const forOrder = () => receiver.requests.filter((r) => (r.body.data.order as { id?: string } | undefined)?.id === o.orderId).map((r) => [r.type, r.answer]);
    expect(forOrder()).toEqual([['order.created', 503]]);
    await nextPass();
    expect(forOrder()).toEqual([
      ['order.created', 503],
      ['order.created', 200],
      ['order.status_changed', 200],
    ]);
  });

  it('a crash between the commit and the delivery: a new instance on the same database delivers the event, once', async () => {
    receiver.respond = () => 200;
    // This instance commits the order and dies before sending anything.
    dispatcher().close();
    const o = await emailOrder();
    await settle();
    const [event] = await t.store.webhooks.events({ orderId: o.orderId });
    expect(receiver.requests.filter((r) => r.id === event!.id)).toEqual([]);

    const restartWake = createManualSchedule();
    const restarted = await openWhatsAppApp(backend, { env: env(), sameDatabaseAs: t, webhookTimers: { wake: restartWake.schedule, timeout: createManualSchedule().schedule } });
    opened.push(restarted);
    await nextPass(restarted, restartWake);
    expect(receiver.requests.filter((r) => r.id === event!.id).map((r) => [r.answer, r.verified])).toEqual([[200, true]]);
  });
});

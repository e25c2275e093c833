import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPaymentSignature } from '../../src/commerce/payment-link.ts';
import { BACKENDS } from '../store/backends.ts';
import { FIXED_NOW, picks, profile } from '../http/helpers.ts';
import { choiceIds, choiceTitles, openWhatsAppApp, PHONES, PUBLIC_BASE_URL, WA_FROM, type WhatsAppTestApp } from './helpers.ts';
import { testClock } from '../support/test-clock.ts';

describe.each(BACKENDS)('a purchase inside WhatsApp (%s)', (backend) => {
  let t: WhatsAppTestApp;
  beforeAll(async () => {
    t = await openWhatsAppApp(backend, { sync: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('price-drop "Buy" → size → quantity → confirm → order priced from the catalog, with payment link and confirmation', async () => {
    const sids = new Map((await t.store.whatsappContents.list()).map((c) => [c.key, c.sid]));
    // The campaign system renders the price drop; outside the window it is the approved
    // template, whose first button carries the signed buy payload ({{4}}).
    const render = await request(t.app)
      .post('/v1/render')
      .send({ template: 'price-drop', profile: profile('rachel'), recommendations: picks('price-drop'), channels: ['whatsapp'], context: { now: FIXED_NOW, messageId: 'msg-rachel-1', campaignId: 'cmp-drop' } })
      .expect(200);
    expect(render.body.whatsapp.kind).toBe('template');
    const buy = JSON.parse(render.body.whatsapp.message.contentVariables)['4'] as string;

    // 1. Tap "Buy now": straight to size, her usual size (M) offered first, sold-out XS/XL never.
    let res = await t.tap(PHONES.rachel, buy);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    let sent = await t.twilio.waitForSent(1);
    const sizeMsg = sent[0]!;
    expect(sizeMsg).toMatchObject({ To: `whatsapp:${PHONES.rachel}`, From: WA_FROM, ContentSid: sids.get('session:quick-reply:3'), StatusCallback: `${PUBLIC_BASE_URL}/whatsapp/v1/status` });
    expect(sizeMsg.Body).toBeUndefined();
    // The message showed Rachel (a discount seeker) the campaign's 15% off: the chat charges it.
    expect(sizeMsg.ContentVariables!['1']).toBe('Merino Rib Knit Top costs €59.46. Your size M is in stock. Which size would you like?');
    expect(choiceTitles(sizeMsg, 'quick-reply')).toEqual(['M', 'S', 'L']);
    const customer = await t.store.customers.get('cust-rachel');
    expect(testClock.now().getTime() - Date.parse(customer!.lastInboundAt!)).toBeLessThan(60_000);

    // 2. Tap size M.
    await t.tap(PHONES.rachel, choiceIds(sizeMsg, 'quick-reply')[0]!);
    sent = await t.twilio.waitForSent(2);
    const qtyMsg = sent[1]!;
    expect(qtyMsg.ContentSid).toBe(sids.get('session:quick-reply:3'));
    expect(qtyMsg.ContentVariables!['1']).toBe('Merino Rib Knit Top, size M. How many would you like?');
    expect(choiceTitles(qtyMsg, 'quick-reply')).toEqual(['1', '2', '3']);

    // 3. Type the quantity.
    await t.say(PHONES.rachel, '2');
    sent = await t.twilio.waitForSent(3);
    const confirmMsg = sent[2]!;
    expect(confirmMsg.ContentVariables!['1']).toBe('2 × Merino Rib Knit Top, size M — €59.46\nTotal €118.92.\nDeliver to Rachel H., 22 Mar…, Brighton?');
    expect(choiceTitles(confirmMsg, 'quick-reply')).toEqual(['Yes', 'Change address', 'Cancel']);

    // 4. Confirm.
    await t.tap(PHONES.rachel, choiceIds(confirmMsg, 'quick-reply')[0]!);
    sent = await t.twilio.waitForSent(4);
    const orders = await t.store.orders.listByCustomer('cust-rachel');
    expect(orders).toHaveLength(1);
    const order = orders[0]!;
    expect(order).toMatchObject({
      channel: 'whatsapp',
      messageId: 'msg-rachel-1',
      status: 'awaiting_payment',
      currency: 'EUR',
      locale: 'en',
      totalMinor: 11892,
      lines: [{ sku: 'NL-TOP-002', size: 'M', quantity: 2, unitPriceMinor: 5946, title: 'Merino Rib Knit Top' }],
      shippingAddress: { name: 'Rachel Hughes', city: 'Brighton' },
    });
    const link = new URL(order.paymentLink!);
    expect(`${link.origin}${link.pathname}`).toBe(`${PUBLIC_BASE_URL}/pay/${order.id}`);
    expect(verifyPaymentSignature(order.id, link.searchParams.get('sig')!, t.config.tokenKeys)).toBe(true);
    expect((await t.store.products.get('NL-TOP-002'))!.sizes.find((s) => s.size === 'M')!.stock).toBe(5);

    // The order-confirmation template, inside the window: plain session text.
    const confirmation = sent[3]!;
    expect(confirmation).toMatchObject({ To: `whatsapp:${PHONES.rachel}`, From: WA_FROM });
    expect(confirmation.ContentSid).toBeUndefined();
    expect(confirmation.Body).toContain(`Hi Rachel, your order ${order.number} is confirmed:\n2 × Merino Rib Knit Top, size M — €59.46\nTotal €118.92.\nPay here to complete your order: ${PUBLIC_BASE_URL}/pay/${order.id}?sig=`);

    // Every outgoing message is in the message log.
    for (const m of sent) expect(await t.store.messages.get(m.sid)).toMatchObject({ customerId: 'cust-rachel', to: `whatsapp:${PHONES.rachel}`, status: 'queued' });
    expect((await t.store.messages.get(confirmation.sid))!.kind).toBe('order-confirmation');

    // And the email channel can render the same confirmation.
    const email = await request(t.app)
      .post('/v1/render')
      .send({
        template: 'order-confirmation',
        profile: profile('rachel'),
        order: { number: order.number, currency: 'EUR', total: 118.92, channel: 'whatsapp', status: 'awaiting_payment', paymentLink: order.paymentLink, lines: [{ sku: 'NL-TOP-002', title: 'Merino Rib Knit Top', size: 'M', quantity: 2, unitPrice: 59.46 }] },
        channels: ['email'],
      })
      .expect(200);
    expect(email.body.email.subject).toBe(`Your order ${order.number} is confirmed`);
    expect(email.body.email.text).toContain('You ordered on WhatsApp.');
  });

  it('a replayed MessageSid changes nothing: no second order, no second reply', async () => {
    const sku = 'NL-SKN-002'; // one size: straight to quantity
    const render = await request(t.app)
      .post('/v1/render')
      .send({ template: 'recommendations', profile: { ...profile('sophie'), whatsapp: { lastInboundAt: testClock.now().toISOString() } }, recommendations: { items: [{ sku }, { sku: 'NL-TOP-001' }] }, channels: ['whatsapp'], context: { messageId: 'msg-sophie-1' } })
      .expect(200);
    const row = render.body.whatsapp.preview.list.items[0].id as string;
    const before = t.twilio.sent.length;
    await t.tap(PHONES.sophie, row, 'ListId');
    await t.say(PHONES.sophie, '1');
    const [confirm] = (await t.twilio.waitForSent(before + 2)).slice(-1);
    expect(confirm!.ContentVariables!['1']).toContain('1 × Polar Glow Vitamin C Serum, size 30ml — €44.95');
    const yes = choiceIds(confirm!, 'quick-reply')[0]!;

    const params = { MessageSid: `SM${'ab'.repeat(16)}`, From: `whatsapp:${PHONES.sophie}`, To: WA_FROM, Body: 'Yes', ButtonPayload: yes, ButtonText: 'Yes' };
    await t.post('/whatsapp/v1/inbound', params).expect(200);
    await t.whatsapp.idle();
    const afterFirst = t.twilio.sent.length;
    expect(await t.store.orders.listByCustomer('cust-sophie')).toHaveLength(1);

    const replay = await t.post('/whatsapp/v1/inbound', params);
    await t.whatsapp.idle();
    expect(replay.status).toBe(200);
    expect(replay.text).toContain('<Response/>');
    expect(t.twilio.sent.length).toBe(afterFirst);
    expect(await t.store.orders.listByCustomer('cust-sophie')).toHaveLength(1);

    // A second tap on the same "Yes" (a new MessageSid) is answered, not ordered again.
    await t.tap(PHONES.sophie, yes);
    const orders = await t.store.orders.listByCustomer('cust-sophie');
    expect(orders).toHaveLength(1);
    // Sophie has a card on file: placed, no payment link.
    expect(orders[0]).toMatchObject({ status: 'placed', messageId: 'msg-sophie-1' });
    expect(orders[0]!.paymentLink).toBeUndefined();
    expect(t.twilio.sent.at(-1)!.Body).toBe(`Your order ${orders[0]!.number} is already placed.`);
  });

  it('two "Yes" taps handled at the same moment (two instances) make one order', async () => {
    await t.store.carts.addItem('cust-carl', 'NL-ACC-002', 'ONE', 1);
    await t.say('+353871234567', 'cart');
    await t.say('+353871234567', 'Check out');
    const yes = choiceIds(t.twilio.sent.at(-1)!, 'quick-reply')[0]!;
    expect(t.twilio.sent.at(-1)!.ContentVariables!['1']).toMatch(/^1 × Lykke Leather Crossbody Bag, size ONE — €129\.00\nTotal €129\.00\./);
    const stockBefore = (await t.store.products.get('NL-ACC-002'))!.sizes[0]!.stock;

    const tap = () => t.post('/whatsapp/v1/inbound', { MessageSid: `SM${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`, From: 'whatsapp:+353871234567', To: WA_FROM, Body: 'Yes', ButtonPayload: yes });
    const [a, b] = await Promise.all([tap(), tap()]);
    await t.whatsapp.idle();
    expect([a.status, b.status]).toEqual([200, 200]);
    const orders = await t.store.orders.listByCustomer('cust-carl');
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ totalMinor: 12900, status: 'placed', lines: [{ sku: 'NL-ACC-002', quantity: 1 }] });
    expect((await t.store.products.get('NL-ACC-002'))!.sizes[0]!.stock).toBe(stockBefore - 1);
    expect((await t.store.carts.get('cust-carl')).items).toEqual([]);
    // One tap got the confirmation; the other, applied to the newer state, is told it is done.
    const bodies = t.twilio.sent.slice(-2).map((m) => m.Body!).sort();
    expect(bodies[0]).toMatch(new RegExp(`^Hi Carl, your order ${orders[0]!.number} is confirmed:`));
    expect(bodies[1]).toBe(`Your order ${orders[0]!.number} is already placed.`);
  });
});

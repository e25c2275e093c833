import request from 'supertest';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXED_NOW, picks, profile } from '../http/helpers.ts';
import { choiceTitles, messageSid, openWhatsAppApp, PHONES, PUBLIC_BASE_URL, WA_FROM, type WhatsAppTestApp } from './helpers.ts';
import { testClock } from '../support/test-clock.ts';

let t: WhatsAppTestApp;
beforeAll(async () => {
  t = await openWhatsAppApp('sqlite', { sync: true });
});
afterAll(async () => {
  await t?.close();
});

const inbound = (phone: string, body: string) => ({ MessageSid: messageSid(), From: `whatsapp:${phone}`, To: WA_FROM, Body: body, NumMedia: '0' });

describe('signature verification', () => {
  it('a bad or missing X-Twilio-Signature is 403 and changes nothing', async () => {
    const params = inbound(PHONES.ingrid, 'varukorg');
    const forged = await t.post('/whatsapp/v1/inbound', params, { signWith: 'not-the-auth-token-000000' });
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('invalid_signature');
    const unsigned = await request(t.app).post('/whatsapp/v1/inbound').type('form').send(params);
    expect(unsigned.status).toBe(403);
    // A parameter added after signing breaks the signature too.
    const signature = twilio.getExpectedTwilioSignature(t.twilio.authToken, `${PUBLIC_BASE_URL}/whatsapp/v1/inbound`, params);
    const tampered = await request(t.app).post('/whatsapp/v1/inbound').type('form').set('X-Twilio-Signature', signature).send({ ...params, Body: 'STOP' });
    expect(tampered.status).toBe(403);
    await t.whatsapp.idle();

    expect(await t.store.events.get(`twilio:inbound:${params.MessageSid}`)).toBeUndefined();
    expect(await t.store.conversations.get('cust-ingrid')).toBeUndefined();
    expect((await t.store.customers.get('cust-ingrid'))!.lastInboundAt).toBeUndefined();
    expect(await t.store.consents.get('cust-ingrid', 'whatsapp')).toBeUndefined();
    expect(t.twilio.sent.filter((m) => m.To === `whatsapp:${PHONES.ingrid}`)).toEqual([]);
  });

  it('checks against PUBLIC_BASE_URL, query string included, whatever host and scheme the proxy forwards', async () => {
    const params = inbound('+15005550006', 'hello');
    const signature = twilio.getExpectedTwilioSignature(t.twilio.authToken, `${PUBLIC_BASE_URL}/whatsapp/v1/inbound?tenant=nordlys`, params);
    const res = await request(t.app)
      .post('/whatsapp/v1/inbound?tenant=nordlys')
      .set('X-Forwarded-Proto', 'http')
      .set('X-Forwarded-Host', 'internal.lb:8080')
      .set('X-Twilio-Signature', signature)
      .type('form')
      .send(params);
    expect(res.status).toBe(200);
    // …and a signature over the internal URL is refused.
    const internal = twilio.getExpectedTwilioSignature(t.twilio.authToken, 'http://internal.lb:8080/whatsapp/v1/inbound', params);
    expect((await request(t.app).post('/whatsapp/v1/inbound').set('X-Twilio-Signature', internal).type('form').send({ ...params, MessageSid: messageSid() })).status).toBe(403);
    await t.whatsapp.idle();
  });

  it('an unknown number gets a polite reply in the language of its country code', async () => {
    const res = await t.say('+46709999999', 'Hej');
    expect(res.status).toBe(200);
    const reply = t.twilio.sent.at(-1)!;
    expect(reply).toMatchObject({ To: 'whatsapp:+46709999999', From: WA_FROM });
    expect(reply.Body).toBe('Hej! Vi hittade inget kundkonto för det här WhatsApp-numret. Bli medlem på https://shop.nordlys.example/ för att få erbjudanden och beställa här.');
  });
});

describe('STOP / START / HELP', () => {
  it('STOP opts out: the reply confirms it and /v1/render suppresses marketing (opted_out), not order confirmations', async () => {
    await t.say(PHONES.rachel, 'Stop');
    expect(t.twilio.sent.at(-1)!.Body).toBe("Done: you won't get offers from us on WhatsApp any more. Reply START to get them again.");
    expect(await t.store.consents.get('cust-rachel', 'whatsapp')).toMatchObject({ granted: false, source: 'whatsapp:STOP' });

    const marketing = await request(t.app)
      .post('/v1/render')
      .send({ template: 'price-drop', profile: profile('rachel'), recommendations: picks('price-drop'), context: { now: FIXED_NOW } })
      .expect(200);
    expect(marketing.body.whatsapp).toMatchObject({ suppressed: true, reason: 'opted_out' });
    expect(marketing.body.email).toBeDefined();

    const transactional = await request(t.app)
      .post('/v1/render')
      .send({ template: 'order-confirmation', profile: profile('rachel'), order: { number: 'IC-TEST0001', currency: 'EUR', total: 10, lines: [{ sku: 'NL-ACC-001', title: 'Scarf', quantity: 1, unitPrice: 10 }] } })
      .expect(200);
    expect(transactional.body.whatsapp.suppressed).toBe(false);

    // Proactive marketing sends refuse her too.
    const before = t.twilio.sent.length;
    const refused = await t.whatsapp.outbox.send({ customerId: 'cust-rachel', template: 'price-drop', recommendations: picks('price-drop') as never });
    expect(refused).toMatchObject({ ok: false, error: { code: 'opted_out' } });
    expect(t.twilio.sent.length).toBe(before);

    await t.say(PHONES.rachel, 'START');
    expect(t.twilio.sent.at(-1)!.Body).toContain("You'll get our offers on WhatsApp again");
    const again = await request(t.app)
      .post('/v1/render')
      .send({ template: 'price-drop', profile: profile('rachel'), recommendations: picks('price-drop'), context: { now: FIXED_NOW } })
      .expect(200);
    expect(again.body.whatsapp.suppressed).toBe(false);
  });

  it('Turkish and Swedish keywords: DUR, BAŞLA (typed without the cedilla), HJÄLP', async () => {
    await t.say(PHONES.emre, 'dur');
    expect(t.twilio.sent.at(-1)!.Body).toBe("Tamam: artık WhatsApp'tan teklif almayacaksınız. Yeniden almak için BAŞLA yazın.");
    expect(await t.store.consents.isOptedOut('cust-emre', 'whatsapp')).toBe(true);
    await t.say(PHONES.emre, 'basla');
    expect(await t.store.consents.isOptedOut('cust-emre', 'whatsapp')).toBe(false);

    await t.say(PHONES.ingrid, 'HJÄLP');
    const help = t.twilio.sent.at(-1)!;
    expect(help.ContentVariables!['1']).toMatch(/^Svara med en siffra eller tryck på en knapp för att välja\. VARUKORG visar din varukorg/);
    expect(choiceTitles(help, 'quick-reply')).toEqual(['Visa varukorg', 'Hjälp']);
  });

  it('an expired conversation greets and offers cart and help', async () => {
    await t.store.conversations.delete('cust-sophie');
    await t.store.conversations.save(
      { customerId: 'cust-sophie', phone: PHONES.sophie, state: { flowId: 'old-flow', sku: 'NL-TOP-001' }, step: 'quantity', locale: 'en', expiresAt: '2026-01-01T00:00:00Z' },
      0,
    );
    await t.say(PHONES.sophie, '2');
    const reply = t.twilio.sent.at(-1)!;
    expect(reply.ContentVariables!['1']).toBe('Hi Sophie! I can help you order from our messages or show your cart.');
    expect(choiceTitles(reply, 'quick-reply')).toEqual(['Show cart', 'Help']);
    expect(await t.store.orders.listByCustomer('cust-sophie')).toEqual([]);
    expect((await t.store.conversations.get('cust-sophie'))!.step).toBe('idle');
  });
});

describe('the 24-hour window', () => {
  it('outside the window a proactive message goes as the approved template (ContentSid, no Body)', async () => {
    const sid = `HX${'7e'.repeat(16)}`;
    await t.store.whatsappContents.upsert({ key: 'template:inboxcart_abandoned_cart:en', sid, friendlyName: 'inboxcart_abandoned_cart_en', fingerprint: 'test', approvalStatus: 'approved' });
    await t.whatsapp.contentSids.reload();
    // Carl wrote three days ago.
    await t.store.customers.setLastInboundAt('cust-carl', new Date(testClock.now().getTime() - 3 * 86_400_000));
    const result = await t.whatsapp.outbox.send({ customerId: 'cust-carl', template: 'abandoned-cart', cart: { items: [{ sku: 'NL-TOP-001', size: 'M', quantity: 1 }] } });
    expect(result.ok).toBe(true);
    const sent = t.twilio.sent.at(-1)!;
    expect(sent).toMatchObject({ To: 'whatsapp:+353871234567', From: WA_FROM, ContentSid: sid });
    expect(sent.Body).toBeUndefined();
    expect(sent.ContentVariables).toMatchObject({ '1': 'Carl', '3': '€49.95' });
    expect((await t.store.messages.get(result.ok ? result.sid : ''))).toMatchObject({ kind: 'template:marketing', template: 'abandoned-cart' });
  });

  it('a session reply outside the window is refused with a clear error, before calling Twilio', async () => {
    const before = t.twilio.requests.length;
    const result = await t.whatsapp.outbox.reply({ to: 'whatsapp:+353871234567', body: 'Still there?' }, { kind: 'reply', customerId: 'cust-carl', lastInboundAt: new Date(testClock.now().getTime() - 25 * 3_600_000).toISOString() });
    expect(result).toMatchObject({ ok: false, error: { code: 'outside_window', retryable: false } });
    if (!result.ok) expect(result.error.message).toMatch(/outside WhatsApp's 24-hour window; only an approved template may be sent/);
    expect(t.twilio.requests.length).toBe(before);
  });

  it('an order placed from the email is confirmed on WhatsApp with the UTILITY template, even after STOP', async () => {
    const sid = `HX${'0c'.repeat(16)}`;
    await t.store.whatsappContents.upsert({ key: 'template:inboxcart_order_confirmation:en', sid, friendlyName: 'inboxcart_order_confirmation_en', fingerprint: 'test', approvalStatus: 'approved' });
    await t.whatsapp.contentSids.reload();
    await t.store.consents.set('cust-carl', 'whatsapp', false, 'whatsapp:STOP');
    const result = await t.whatsapp.outbox.sendOrderConfirmation({
      id: 'order-email-1',
      number: 'IC-EMAIL001',
      customerId: 'cust-carl',
      channel: 'email',
      status: 'placed',
      currency: 'EUR',
      totalMinor: 3995,
      shippingAddress: { name: 'Carl Byrne', line1: '8 Merrion Square North', city: 'Dublin', postalCode: 'D02 EK84', country: 'IE' },
      idempotencyKey: 'k',
      createdAt: '2026-11-22T09:00:00.000Z',
      lines: [{ sku: 'NL-ACC-001', size: 'ONE', quantity: 1, unitPriceMinor: 3995, title: 'Tove Wool Scarf' }],
    });
    expect(result.ok).toBe(true);
    expect(t.twilio.sent.at(-1)).toMatchObject({ ContentSid: sid, ContentVariables: { '1': 'IC-EMAIL001', '2': '€39.95', '3': "We'll message you here when it ships." } });
    await t.store.consents.set('cust-carl', 'whatsapp', true, 'test');
  });

  it('an approved template without a synced contentSid is refused, not sent as text', async () => {
    const result = await t.whatsapp.outbox.send({ customerId: 'cust-ayse', template: 'price-drop', recommendations: picks('price-drop') as never });
    expect(result).toMatchObject({ ok: false, error: { code: 'not_synced' } });
  });
});

describe('Twilio errors', () => {
  it('63016 from Twilio comes back typed and is recorded on the message row', async () => {
    t.twilio.failNextSend(63016, 'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.');
    const result = await t.whatsapp.outbox.reply({ to: `whatsapp:${PHONES.sophie}`, body: 'Hello' }, { kind: 'reply', customerId: 'cust-sophie', lastInboundAt: testClock.now().toISOString() });
    expect(result).toMatchObject({ ok: false, error: { code: 63016, httpStatus: 400, retryable: false, moreInfo: 'https://www.twilio.com/docs/errors/63016' } });
    if (result.ok) throw new Error('expected a failure');
    expect(await t.store.messages.get(result.error.recordedAs!)).toMatchObject({ status: 'failed', errorCode: '63016', customerId: 'cust-sophie', to: `whatsapp:${PHONES.sophie}`, kind: 'reply' });

    t.twilio.failNextSend(63018, 'Rate limit exceeded', 429);
    const limited = await t.whatsapp.outbox.reply({ to: `whatsapp:${PHONES.sophie}`, body: 'Hello' }, { kind: 'reply', lastInboundAt: testClock.now().toISOString() });
    expect(limited).toMatchObject({ ok: false, error: { code: 63018, retryable: true } });
  });

  it('a failing reply does not fail the webhook, and the failure is recorded with its error code', async () => {
    t.twilio.failNextSend(63024, 'Invalid message recipient');
    const res = await t.say(PHONES.sophie, 'help');
    expect(res.status).toBe(200);
    // Replies go out after the answer to Twilio: the record of the failed send is what proves it was handled.
    const failed = await t.store.db.selectFrom('whatsapp_messages').selectAll().where('sid', 'like', 'failed-%').where('error_code', '=', '63024').execute();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'failed', customer_id: 'cust-sophie' });
  });
});

describe('queued replies', () => {
  // Long enough ago for the recovery, and past any retry time a failed send set.
  const age = () => t.store.db.updateTable('whatsapp_replies').set({ created_at: '2000-01-01T00:00:00.000Z', next_attempt_at: '2000-01-01T00:00:00.000Z' }).where('status', '=', 'queued').execute();

  it('a reply Twilio cannot take now stays queued, holds back the next ones, and the recovery sends them in order', async () => {
    t.twilio.failNextSend(20500, 'Internal Server Error', 500);
    const before = t.twilio.sent.length;
    expect((await t.say(PHONES.sophie, 'help')).status).toBe(200);
    const queued = await t.store.whatsappReplies.queued();
    expect(queued.length).toBeGreaterThan(0);
    expect(queued[0]).toMatchObject({ seq: 0, attempts: 1, customerId: 'cust-sophie' });
    expect(queued.map((r) => r.seq)).toEqual(queued.map((_, i) => i));
    const accepted = t.twilio.sent.length;
    // Not due yet: the instance that wrote them may still be sending.
    await t.whatsapp.recoverReplies();
    expect(t.twilio.sent.length).toBe(accepted);
    await age();
    await t.whatsapp.recoverReplies();
    expect(await t.store.whatsappReplies.queued()).toEqual([]);
    expect(t.twilio.sent.length - before).toBe(queued.length + (accepted - before));
  });

  it('replies an instance queued and never sent (it died) go out from the next one; one outside the window never does', async () => {
    const inWindow = testClock.now().toISOString();
    await t.store.whatsappReplies.enqueue('twilio:inbound:SMcrashed', [
      { customerId: 'cust-sophie', message: { to: `whatsapp:${PHONES.sophie}`, body: 'Queued before a crash' }, meta: { kind: 'reply', lastInboundAt: inWindow } },
    ], new Date());
    await t.store.whatsappReplies.enqueue('twilio:inbound:SMstale', [
      { customerId: 'cust-sophie', message: { to: `whatsapp:${PHONES.sophie}`, body: 'Two days late' }, meta: { kind: 'reply', lastInboundAt: '2026-01-01T00:00:00.000Z' } },
    ], new Date());
    await age();
    await t.whatsapp.recoverReplies();
    const bodies = t.twilio.sent.map((m) => m.Body);
    expect(bodies).toContain('Queued before a crash');
    expect(bodies).not.toContain('Two days late');
    expect(await t.store.whatsappReplies.queued()).toEqual([]);
    const stale = await t.store.db.selectFrom('whatsapp_replies').selectAll().where('event_key', '=', 'twilio:inbound:SMstale').executeTakeFirstOrThrow();
    expect(stale).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/^outside_window: /) });
  });
});

describe('status callbacks', () => {
  const status = (sid: string, s: string, extra: Record<string, string> = {}) =>
    t.post('/whatsapp/v1/status', { MessageSid: sid, SmsSid: sid, MessageStatus: s, SmsStatus: s, AccountSid: t.twilio.accountSid, From: WA_FROM, To: `whatsapp:${PHONES.sophie}`, ChannelPrefix: 'whatsapp', ApiVersion: '2010-04-01', ...extra });

  it('stores each delivery state and never downgrades (read, then a late delivered, stays read)', async () => {
    await t.say(PHONES.sophie, 'cart');
    const sid = t.twilio.sent.at(-1)!.sid;
    expect((await status(sid, 'sent')).status).toBe(200);
    expect((await t.store.messages.get(sid))!.status).toBe('sent');
    const read = await status(sid, 'read', { EventType: 'READ' });
    expect(read.text).toContain('<Response/>');
    expect(read.headers['content-type']).toMatch(/^text\/xml/);
    await status(sid, 'delivered', { EventType: 'DELIVERED' });
    expect((await t.store.messages.get(sid))!.status).toBe('read');
  });

  it('records failures with their ErrorCode, and refuses unsigned callbacks', async () => {
    const sid = `SM${'cd'.repeat(16)}`;
    await status(sid, 'undelivered', { ErrorCode: '63024', ErrorMessage: 'Invalid message recipient' });
    expect(await t.store.messages.get(sid)).toMatchObject({ status: 'undelivered', errorCode: '63024' });
    const forged = await t.post('/whatsapp/v1/status', { MessageSid: sid, MessageStatus: 'delivered' }, { signWith: 'x'.repeat(32) });
    expect(forged.status).toBe(403);
    expect((await t.store.messages.get(sid))!.status).toBe('undelivered');
  });
});

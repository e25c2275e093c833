import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../amp/amp-kit.ts';
import { openWhatsAppApp, PHONES, type WhatsAppTestApp } from './helpers.ts';

const SENDER = 'offers@nordlys.example';

describe('one customer, two channels', () => {
  let t: WhatsAppTestApp;
  beforeAll(async () => {
    t = await openWhatsAppApp('sqlite', { sync: true, env: { AMP_ALLOWED_SENDERS: SENDER } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an order placed in the email is confirmed on WhatsApp, with its number', async () => {
    const token = mintToken(t.config.tokenKeys, { sub: 'cust-sophie', msg: 'm-email-1', tpl: 'recommendations', skus: ['NL-TOP-001'], currency: 'EUR', locale: 'en' });
    const res = await request(t.app).post(`/amp/v1/checkout?token=${token}`).set('AMP-Email-Sender', SENDER).type('form').send({ sku: 'NL-TOP-001', size: 'S', quantity: '1' });
    expect(res.status).toBe(200);
    const number = res.body.orderNumber as string;
    expect(number).toMatch(/^IC-/);
    await t.whatsapp.idle();
    const sent = await t.twilio.waitForSent(1);
    const confirmation = sent.find((m) => m.To === `whatsapp:${PHONES.sophie}`)!;
    expect(confirmation).toBeDefined();
    expect(JSON.stringify([confirmation.Body, confirmation.ContentVariables])).toContain(number);
  });

  it('an order confirmation Twilio cannot take now stays queued and goes out later, once however often it is asked for', async () => {
    const token = mintToken(t.config.tokenKeys, { sub: 'cust-sophie', msg: 'm-email-3', tpl: 'recommendations', skus: ['NL-TOP-001'], currency: 'EUR', locale: 'en' });
    t.twilio.failNextSend(20500, 'Internal Server Error', 500);
    const before = t.twilio.sent.length;
    const res = await request(t.app).post(`/amp/v1/checkout?token=${token}`).set('AMP-Email-Sender', SENDER).type('form').send({ sku: 'NL-TOP-001', size: 'M', quantity: '1' });
    expect(res.status).toBe(200);
    await t.whatsapp.idle();
    expect(t.twilio.sent.length).toBe(before);
    expect(await t.store.whatsappReplies.queued()).toEqual([expect.objectContaining({ customerId: 'cust-sophie', attempts: 1, meta: expect.objectContaining({ kind: 'order_confirmation' }) })]);
    const order = (await t.store.orders.getByNumber(res.body.orderNumber as string))!;
    // Asked again (a retried hook, another instance): still one confirmation.
    t.whatsapp.confirmElsewhereOrder(order);
    await t.whatsapp.idle();
    await t.store.db.updateTable('whatsapp_replies').set({ created_at: '2000-01-01T00:00:00.000Z', next_attempt_at: '2000-01-01T00:00:00.000Z' }).where('status', '=', 'queued').execute();
    await t.whatsapp.recoverReplies();
    const sent = t.twilio.sent.slice(before);
    expect(sent).toHaveLength(1);
    expect(JSON.stringify([sent[0]!.Body, sent[0]!.ContentVariables])).toContain(order.number);
    expect(await t.store.whatsappReplies.queued()).toEqual([]);
  });

  it('a customer without WhatsApp consent gets no confirmation there', async () => {
    await t.store.customers.upsert({
      id: 'cust-email-only',
      phone: '+46709999999',
      locale: 'sv',
      currency: 'SEK',
      timezone: 'Europe/Stockholm',
      profile: { id: 'cust-email-only', consent: { email: true, whatsapp: false, sms: false } },
      address: { name: 'Eva Ek', line1: 'Storgatan 2', city: 'Lund', postalCode: '222 22', country: 'SE' },
    });
    const before = t.twilio.sent.length;
    const token = mintToken(t.config.tokenKeys, { sub: 'cust-email-only', msg: 'm-email-2', tpl: 'recommendations', skus: ['NL-TOP-001'], currency: 'SEK', locale: 'sv' });
    const res = await request(t.app).post(`/amp/v1/checkout?token=${token}`).set('AMP-Email-Sender', SENDER).type('form').send({ sku: 'NL-TOP-001', size: 'S', quantity: '1' });
    expect(res.status).toBe(200);
    expect(res.body.orderNumber).toMatch(/^IC-/);
    await t.whatsapp.idle();
    expect(t.twilio.sent.length).toBe(before);
  });
});

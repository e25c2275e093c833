import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../amp/amp-kit.ts';
import { memoryLog } from '../http/helpers.ts';
import { BACKENDS, uid } from '../store/backends.ts';
import { failInserts } from '../support/fail-inserts.ts';
import { testClock } from '../support/test-clock.ts';
import { openWhatsAppApp, registerShopper, type WhatsAppTestApp } from './helpers.ts';

const SENDER = 'offers@nordlys.example';

/**
 * The WhatsApp confirmation of an email order is queued in the order's own transaction
 * (transactional outbox). Regression for the crash test on PostgreSQL: orders committed
 * 98–337 ms before the kill never had their confirmation queued, as it was written after the
 * commit. And for its log: a warning for every order of a customer without WhatsApp consent.
 */
describe.each(BACKENDS)('the WhatsApp confirmation of an email order (%s)', (backend) => {
  let t: WhatsAppTestApp;
  const log = memoryLog('debug');
  beforeAll(async () => {
    t = await openWhatsAppApp(backend, { env: { AMP_ALLOWED_SENDERS: SENDER }, logger: log.logger });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function shopper(consent: { whatsapp: boolean }): Promise<{ customerId: string; phone: string; checkout: (form: Record<string, string>) => request.Test }> {
    // Wrote on WhatsApp a minute ago: the confirmation goes as session text.
    const { customerId, phone } = await registerShopper(t.store, { ...consent, lastInboundAt: new Date(testClock.now().getTime() - 60_000).toISOString() });
    const token = mintToken(t.config.tokenKeys, { sub: customerId, msg: uid('msg'), tpl: 'recommendations', skus: ['NL-TOP-001'], currency: 'EUR', locale: 'en' });
    const checkout = (form: Record<string, string>) => request(t.app).post(`/amp/v1/checkout?token=${token}`).set('AMP-Email-Sender', SENDER).type('form').send(form);
    return { customerId, phone, checkout };
  }

  const queuedFor = (customerId: string) => t.store.db.selectFrom('whatsapp_replies').select(['event_key', 'status']).where('customer_id', '=', customerId).execute();
  const stock = async () => (await t.store.products.get('NL-TOP-001'))!.sizes.find((s) => s.size === 'M')!.stock;

  it('commits with the order: a failure after the order insert leaves neither; the next submission has both, and sends it', async () => {
    const s = await shopper({ whatsapp: true });
    const before = await stock();
    const restore = await failInserts(t.store, 'whatsapp_replies', 'customer_id', s.customerId);
    const failed = await s.checkout({ sku: 'NL-TOP-001', size: 'M', quantity: '1' });
    await restore();
    expect(failed.status).toBe(500);
    expect(await t.store.orders.listByCustomer(s.customerId)).toEqual([]);
    expect(await queuedFor(s.customerId)).toEqual([]);
    expect(await stock()).toBe(before);

    const placed = await s.checkout({ sku: 'NL-TOP-001', size: 'M', quantity: '1' });
    expect(placed.status).toBe(200);
    const [order] = await t.store.orders.listByCustomer(s.customerId);
    expect(order!.number).toBe(placed.body.orderNumber);
    expect(await stock()).toBe(before - 1);
    expect(await queuedFor(s.customerId)).toEqual([{ event_key: `order:${order!.id}:confirmation`, status: expect.any(String) }]);
    await t.whatsapp.idle();
    expect(await queuedFor(s.customerId)).toEqual([{ event_key: `order:${order!.id}:confirmation`, status: 'sent' }]);
    const sent = t.twilio.sent.filter((m) => m.To === `whatsapp:${s.phone}`);
    expect(sent).toHaveLength(1);
    expect(JSON.stringify([sent[0]!.Body, sent[0]!.ContentVariables])).toContain(order!.number);
  });

  it('is not queued for a customer without WhatsApp consent, or after a STOP, and that is logged at debug only', async () => {
    const noConsent = await shopper({ whatsapp: false });
    const stopped = await shopper({ whatsapp: true });
    await t.store.consents.set(stopped.customerId, 'whatsapp', false, 'whatsapp:STOP');
    const from = log.lines.length;
    for (const s of [noConsent, stopped]) {
      const res = await s.checkout({ sku: 'NL-TOP-001', size: 'S', quantity: '1' });
      expect(res.status).toBe(200);
      expect(await queuedFor(s.customerId)).toEqual([]);
    }
    await t.whatsapp.idle();
    const lines = log.lines.slice(from);
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(lines.filter((l) => l.msg === 'email order not confirmed on WhatsApp: no number or no WhatsApp consent')).toHaveLength(2);
    expect(t.twilio.sent.filter((m) => m.To === `whatsapp:${noConsent.phone}` || m.To === `whatsapp:${stopped.phone}`)).toEqual([]);
  });
});

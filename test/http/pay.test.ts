import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentLink } from '../../src/commerce/payment-link.ts';
import { placeOrder } from '../../src/store/index.ts';
import { openTestApp, type TestApp } from './helpers.ts';

const address = { name: 'Rachel Hart', line1: '22 Marine Parade', city: 'Brighton', postalCode: 'BN2 1TL', country: 'GB' };

describe('GET /pay/:orderId (where payment links lead)', () => {
  let t: TestApp;
  let withProvider: TestApp;
  let orderId = '';
  beforeAll(async () => {
    t = await openTestApp();
    withProvider = await openTestApp({ dataDir: t.dataDir, env: { PAYMENT_PROVIDER_URL: 'https://pay.example-psp.com/checkout' }, seed: false });
    const placed = await placeOrder(t.store, {
      idempotencyKey: 'pay-test-1',
      customerId: 'cust-rachel',
      channel: 'whatsapp',
      status: 'awaiting_payment',
      currency: 'EUR',
      lines: [{ sku: 'NL-TOP-002', size: 'M', quantity: 2, unitPriceMinor: 5946, title: 'Merino <Rib> Knit Top' }],
      shippingAddress: address,
    });
    if (!('order' in placed)) throw new Error('order not placed');
    orderId = placed.order.id;
  });
  afterAll(async () => {
    await withProvider?.close();
    await t?.close();
  });

  const path = (app: TestApp) => {
    const link = new URL(paymentLink(app.config.publicBaseUrl, orderId, app.config.tokenKeys));
    return link.pathname + link.search;
  };

  it('shows what is being paid and hands over to the payment provider with reference and amount', async () => {
    const res = await request(withProvider.app).get(path(withProvider)).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('2 × Merino &lt;Rib&gt; Knit Top, M — €59.46');
    expect(res.text).toContain('Total <strong>€118.92</strong>');
    const number = (await t.store.orders.get(orderId))!.number;
    expect(res.text).toContain(`href="https://pay.example-psp.com/checkout?reference&#x3D;${number}&amp;order&#x3D;${orderId}&amp;amount&#x3D;11892&amp;currency&#x3D;EUR"`);
  });

  it('says payment is not available online when no provider is configured', async () => {
    const res = await request(t.app).get(path(t)).expect(200);
    expect(res.text).toContain('Online payment is not available right now.');
    expect(res.text).not.toContain('class="btn"');
  });

  it('refuses a link with a wrong signature and answers 404 for an unknown order', async () => {
    await request(t.app).get(`/pay/${orderId}?sig=test.AAAAAAAAAAAAAAAAAAAAAA`).expect(403);
    await request(t.app).get(`/pay/${orderId}`).expect(403);
    const other = paymentLink(t.config.publicBaseUrl, 'no-such-order', t.config.tokenKeys);
    await request(t.app).get(new URL(other).pathname + new URL(other).search).expect(404);
  });
});

describe('GET /pay/:orderId in the language and money format of the order', () => {
  let t: TestApp;
  const placed: Record<string, string> = {};
  beforeAll(async () => {
    t = await openTestApp({ env: { PAYMENT_PROVIDER_URL: 'https://pay.example-psp.com/checkout' } });
    const orders = [
      { key: 'tr', customerId: 'cust-emre', locale: 'tr', currency: 'TRY', unitPriceMinor: 249900, country: 'TR' },
      { key: 'sv', customerId: 'cust-ingrid', locale: 'sv-SE', currency: 'SEK', unitPriceMinor: 54900, country: 'SE' },
    ];
    for (const o of orders) {
      const result = await placeOrder(t.store, {
        idempotencyKey: `pay-locale-${o.key}`,
        customerId: o.customerId,
        channel: 'email',
        status: 'awaiting_payment',
        currency: o.currency,
        locale: o.locale,
        lines: [{ sku: 'NL-TOP-001', size: 'M', quantity: 2, unitPriceMinor: o.unitPriceMinor, title: 'Fjord Linen Shirt' }],
        shippingAddress: { ...address, country: o.country },
        number: `IC-PAY${o.key.toUpperCase()}0`,
      });
      if (!('order' in result)) throw new Error('order not placed');
      placed[o.key] = result.order.id;
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const page = async (key: string) => {
    const link = new URL(paymentLink(t.config.publicBaseUrl, placed[key]!, t.config.tokenKeys));
    return (await request(t.app).get(link.pathname + link.search).expect(200)).text;
  };
  const main = (html: string) => /<main>(.*)<\/main>/.exec(html)![1]!.replace(/ href="[^"]*"/, '');

  it('a Turkish order in lira reads Turkish, with Turkish number formatting', async () => {
    const html = await page('tr');
    expect(html).toContain('<html lang="tr" dir="ltr">');
    expect(html).toContain('<title>Ödemenizi tamamlayın · Nordlys</title>');
    expect(main(html)).toBe(
      '<h1>Ödemenizi tamamlayın</h1><p>Sipariş <strong>IC-PAYTR0</strong></p><ul><li>2 × Fjord Linen Shirt, M — ₺2.499,00</li></ul>' +
        '<p>Toplam <strong>₺4.998,00</strong></p><p><a class="btn">₺4.998,00 öde</a></p>',
    );
  });

  it('a Swedish order in kronor reads Swedish, with Swedish number formatting', async () => {
    const html = await page('sv');
    expect(html).toContain('<html lang="sv-SE" dir="ltr">');
    expect(main(html)).toBe(
      '<h1>Slutför din betalning</h1><p>Beställning <strong>IC-PAYSV0</strong></p><ul><li>2 × Fjord Linen Shirt, M — 549,00\u00a0kr</li></ul>' +
        '<p>Totalt <strong>1\u00a0098,00\u00a0kr</strong></p><p><a class="btn">Betala 1\u00a0098,00\u00a0kr</a></p>',
    );
  });

  it('keeps the locale on the stored order', async () => {
    expect((await t.store.orders.get(placed.tr!))!.locale).toBe('tr');
    expect((await t.store.orders.get(placed.sv!))!.locale).toBe('sv-SE');
  });
  it('shows the order paid once the shop reports it, with no way to pay twice, and its tracking link once shipped', async () => {
    const placed = await placeOrder(t.store, {
      idempotencyKey: 'pay-test-paid',
      customerId: 'cust-rachel',
      channel: 'email',
      status: 'awaiting_payment',
      currency: 'EUR',
      locale: 'sv',
      lines: [{ sku: 'NL-TOP-002', size: 'M', quantity: 1, unitPriceMinor: 5946, title: 'Merino Rib Knit Top' }],
      shippingAddress: address,
    });
    if (!('order' in placed)) throw new Error('order not placed');
    const id = placed.order.id;
    const link = new URL(paymentLink(t.config.publicBaseUrl, id, t.config.tokenKeys));
    await request(t.app).post(`/v1/orders/${id}/status`).send({ status: 'paid' }).expect(200);
    const paid = await request(t.app).get(link.pathname + link.search).expect(200);
    expect(paid.text).toContain('<title>Den här beställningen är betald');
    expect(paid.text).not.toContain('pay.example-psp.com');
    await request(t.app).post(`/v1/orders/${id}/status`).send({ status: 'fulfilled', carrier: 'PostNord', trackingUrl: 'https://tracking.postnord.example/t/1' }).expect(200);
    const shipped = await request(t.app).get(link.pathname + link.search).expect(200);
    expect(shipped.text).toContain('<title>Den här beställningen är betald och på väg');
    expect(shipped.text).toContain('Den har skickats med PostNord.');
    expect(shipped.text).toContain('<a class="btn" href="https://tracking.postnord.example/t/1">Spåra ditt paket</a>');
  });
});

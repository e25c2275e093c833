import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPaymentSignature } from '../../src/commerce/payment-link.ts';
import { toMinor } from '../../src/commerce/money.ts';
import { catalogFixture } from '../http/helpers.ts';
import { ampUrls, expectAmpAnswer, formFields, mintToken, openAmpApp, pathOf, renderAmp, v1, v2, yahoo, type AmpApp, type Backend } from './amp-kit.ts';

/**
 * The purchase an AMP email starts, driven the way a mail client drives it: URLs taken from
 * the rendered AMP, CORS headers of Gmail (v2), the v1 protocol and Yahoo's variant, form
 * bodies as Gmail sends them. Run on SQLite and on PostgreSQL.
 */
describe.each<Backend>(['sqlite', 'postgres'])('buying inside the email on %s', (backend) => {
  let t: AmpApp;
  beforeAll(async () => {
    t = await openAmpApp(backend);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  const catalogTitle = (sku: string) => catalogFixture().find((p) => p.sku === sku)!.title;
  const stock = async (sku: string, size: string) => (await t.store.products.get(sku))!.sizes.find((s) => s.size === size)!.stock;

  it('abandoned cart: live cart and offers, quantity changed in place, checkout from the cart, one order for a double click', async () => {
    const { amp, id } = await renderAmp(t, 'abandoned-cart', 'carl-cart', 'picks-8', { context: { campaignId: 'cmp-cart-recovery', now: '2026-11-22T10:00:00Z' } });
    const { lists, forms } = ampUrls(amp);
    const cartList = lists.find((u) => u.includes('/amp/v1/cart?'))!;
    const offersList = lists.find((u) => u.includes('/amp/v1/offers?'))!;
    expect(cartList).toBeDefined();
    expect(offersList).toBeDefined();

    // Before Carl ever had a store cart, the email's own cart is what the live total shows.
    const before = await request(t.server).get(pathOf(cartList)).set(v2);
    expectAmpAnswer(before);
    expect(before.status).toBe(200);
    expect(before.headers['amp-email-allow-sender']).toBe('offers@nordlys.example');
    expect(before.headers['access-control-allow-origin']).toBeUndefined();
    expect(before.body).toMatchObject({
      count: 2,
      subtotalText: '€89.90',
      freeShipping: { remainingText: '€10.10', percent: 90, reached: false },
      items: [
        { sku: 'NL-TOP-001', size: 'M', quantity: 1, lineTotalText: '€49.95' },
        { sku: 'NL-ACC-001', size: 'ONE', quantity: 1, lineTotalText: '€39.95' },
      ],
    });

    const offers = await request(t.server).get(pathOf(offersList)).set(v2);
    expectAmpAnswer(offers);
    const cardSkus = [...amp.matchAll(/<div class="card">[\s\S]*?name="sku" value="([^"]+)"/g)].map((m) => m[1]);
    expect(offers.body.items.map((i: { sku: string }) => i.sku)).toEqual(cardSkus);

    // The first line's quantity form, as Gmail posts it (urlencoded), over CORS v1.
    const lineForm = forms.findIndex((u) => u.includes('/amp/v1/cart?'));
    const fields = formFields(amp, lineForm);
    expect(fields).toEqual({ sku: 'NL-TOP-001', size: 'M', action: 'set', quantity: '1' });
    const cors = v1(pathOf(forms[lineForm]!));
    const changed = await request(t.server).post(cors.path).set(cors.headers).type('form').send({ ...fields, quantity: '2' });
    expectAmpAnswer(changed);
    expect(changed.status).toBe(200);
    expect(changed.headers['access-control-allow-origin']).toBe('https://mail.google.com');
    expect(changed.headers['amp-access-control-allow-source-origin']).toBe('offers@nordlys.example');
    expect(changed.headers['access-control-expose-headers']).toBe('AMP-Access-Control-Allow-Source-Origin');
    expect(changed.headers['amp-email-allow-sender']).toBeUndefined();
    expect(changed.body).toMatchObject({
      count: 3,
      subtotalText: '€139.85',
      freeShipping: { reached: true, percent: 100 },
      line: { sku: 'NL-TOP-001', size: 'M', quantity: 2, lineTotalText: '€99.90' },
    });
    // The store now holds the customer's one cart: both lines the email showed, one changed.
    const seeded = (await t.store.carts.get('cust-carl')).items;
    expect(seeded).toHaveLength(2);
    expect(seeded).toEqual(expect.arrayContaining([
      { sku: 'NL-TOP-001', size: 'M', quantity: 2 },
      { sku: 'NL-ACC-001', size: 'ONE', quantity: 1 },
    ]));

    const topBefore = await stock('NL-TOP-001', 'M');
    const hatBefore = await stock('NL-ACC-001', 'ONE');
    const checkoutForm = forms.findIndex((u) => u.includes('/amp/v1/checkout?'));
    expect(formFields(amp, checkoutForm)).toEqual({ from: 'cart' });
    const checkoutPath = pathOf(forms[checkoutForm]!);
    const placed = await request(t.server).post(checkoutPath).set(v2).type('form').send({ from: 'cart' });
    expectAmpAnswer(placed);
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({ status: 'placed', total: 139.85, totalText: '€139.85', currency: 'EUR' });
    expect(placed.body.orderNumber).toMatch(/^IC-[0-9A-Z]{8}$/);
    expect(placed.body.paymentUrl).toBeUndefined();

    const order = (await t.store.orders.get(placed.body.orderId))!;
    expect(order).toMatchObject({
      customerId: 'cust-carl',
      channel: 'email',
      campaignId: 'cmp-cart-recovery',
      messageId: id,
      template: 'abandoned-cart',
      status: 'placed',
      totalMinor: 13985,
      shippingAddress: { city: 'Dublin', country: 'IE' },
    });
    expect(order.lines).toHaveLength(2);
    expect(order.lines).toEqual(expect.arrayContaining([
      { sku: 'NL-TOP-001', size: 'M', quantity: 2, unitPriceMinor: 4995, title: 'Fjord Linen Shirt' },
      { sku: 'NL-ACC-001', size: 'ONE', quantity: 1, unitPriceMinor: 3995, title: catalogTitle('NL-ACC-001') },
    ]));
    expect(await stock('NL-TOP-001', 'M')).toBe(topBefore - 2);
    expect(await stock('NL-ACC-001', 'ONE')).toBe(hatBefore - 1);
    expect((await t.store.carts.get('cust-carl')).items).toEqual([]);

    // The second click of a double click lands after the first committed and emptied the cart.
    const again = await request(t.server).post(checkoutPath).set(v2).type('form').send({ from: 'cart' });
    expect(again.status).toBe(200);
    expect(again.body.orderId).toBe(placed.body.orderId);
    expect((await t.store.orders.listByCustomer('cust-carl')).filter((o) => o.messageId === id)).toHaveLength(1);
    expect(await stock('NL-TOP-001', 'M')).toBe(topBefore - 2);

    const after = await request(t.server).get(pathOf(cartList)).set(v2);
    expect(after.body).toMatchObject({ empty: true, count: 0 });
  });

  it('buy now in the preferred size, priced from the catalog whatever price the form carries, posted as multipart', async () => {
    const { amp, id } = await renderAmp(t, 'recommendations', 'sophie', 'picks-8', { context: { campaignId: 'cmp-new-in' } });
    const { lists, forms } = ampUrls(amp);
    const offers = await request(t.server).get(pathOf(lists[0]!)).set(v2);
    const shirt = offers.body.items.find((i: { sku: string }) => i.sku === 'NL-TOP-001');
    // Sophie buys tops in S: the live offer pre-selects it and marks it as hers.
    expect(shirt).toMatchObject({ preferredSize: 'S', selectedSize: 'S', preferredAvailable: true, priceText: '€49.95', soldOut: false });
    expect(shirt.sizes.find((s: { size: string }) => s.size === 'S')).toEqual({ size: 'S', inStock: true, preferred: true, selected: true });
    const dress = offers.body.items.find((i: { sku: string }) => i.sku === 'NL-DRS-003');
    expect(dress.sizes.filter((s: { inStock: boolean }) => s.inStock).map((s: { size: string }) => s.size)).toEqual(['XL']);
    expect(dress.selectedSize).toBe('XL');

    const n = forms.findIndex((_, i) => formFields(amp, i).sku === 'NL-TOP-001');
    const before = await stock('NL-TOP-001', 'S');
    const res = await request(t.server)
      .post(pathOf(forms[n]!))
      .set(v2)
      .field('sku', 'NL-TOP-001')
      .field('size', shirt.selectedSize)
      .field('quantity', '1')
      .field('price', '0.01')
      .field('unitPrice', '0.01')
      .field('total', '0.01');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'placed', total: 49.95, totalText: '€49.95' });
    const order = (await t.store.orders.get(res.body.orderId))!;
    expect(order).toMatchObject({ totalMinor: toMinor(49.95, 'EUR'), channel: 'email', campaignId: 'cmp-new-in', messageId: id, template: 'recommendations' });
    expect(order.lines).toEqual([{ sku: 'NL-TOP-001', size: 'S', quantity: 1, unitPriceMinor: 4995, title: 'Fjord Linen Shirt' }]);
    expect(await stock('NL-TOP-001', 'S')).toBe(before - 1);

    // The same form again is the same order; another size from the same email is a new one.
    const twice = await request(t.server).post(pathOf(forms[n]!)).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'S', quantity: '1', price: '1' });
    expect(twice.body.orderId).toBe(res.body.orderId);
    const otherSize = await request(t.server).post(pathOf(forms[n]!)).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'M', quantity: '1' });
    expect(otherSize.status).toBe(200);
    expect(otherSize.body.orderId).not.toBe(res.body.orderId);
    expect(await stock('NL-TOP-001', 'S')).toBe(before - 1);
  });

  it('an address without a saved card awaits payment through a signed link, at the discount the email showed', async () => {
    // Rachel is a discount seeker with an address on file but no saved payment method.
    const { amp } = await renderAmp(t, 'price-drop', 'rachel', 'price-drop');
    const { lists, forms } = ampUrls(amp);
    const y = yahoo(pathOf(lists[0]!));
    const offers = await request(t.server).get(y.path).set(y.headers);
    expect(offers.status).toBe(200);
    expect(offers.headers['access-control-allow-origin']).toBe('null');
    expect(offers.headers['access-control-allow-credentials']).toBe('true');
    expect(offers.headers['amp-access-control-allow-source-origin']).toBe('https://mail.yahoo.com');
    const hero = offers.body.items[0];
    expect(hero).toMatchObject({ sku: 'NL-TOP-002', priceText: '€59.46', wasText: '€69.95', discountPercent: 15 });

    const fields = formFields(amp, 0);
    const post = yahoo(pathOf(forms[0]!));
    const res = await request(t.server).post(post.path).set(post.headers).type('form').send({ ...fields, size: 'M' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'awaiting_payment', total: 59.46, totalText: '€59.46' });
    const link = new URL(res.body.paymentUrl);
    expect(`${link.origin}${link.pathname}`).toBe(`https://mail.example.com/pay/${res.body.orderId}`);
    expect(verifyPaymentSignature(res.body.orderId, link.searchParams.get('sig')!, t.config.tokenKeys)).toBe(true);
    expect(verifyPaymentSignature('another-order', link.searchParams.get('sig')!, t.config.tokenKeys)).toBe(false);
    expect(await t.store.orders.get(res.body.orderId)).toMatchObject({ status: 'awaiting_payment', totalMinor: 5946, paymentLink: res.body.paymentUrl, locale: 'en' });
  });

  it('quiz answers are stored as zero-party preferences and pick the products', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'quinn-quiz', 'skincare');
    const survey = ampUrls(amp).forms.find((u) => u.includes('/amp/v1/survey?'))!;
    const res = await request(t.server).post(pathOf(survey)).set(v2).type('form').send('skinType=dry&concerns=sensitivity');
    expectAmpAnswer(res);
    expect(res.body).toMatchObject({ saved: true, matched: true, preferences: { skinType: 'dry', concerns: ['sensitivity'] }, matches: [true, false, false, true] });
    const rows = await t.store.db.selectFrom('profile_preferences').select(['key', 'value']).where('customer_id', '=', 'cust-quinn').orderBy('key').execute();
    expect(rows).toEqual([
      { key: 'concerns', value: '["sensitivity"]' },
      { key: 'skinType', value: '"dry"' },
    ]);
  });

  it('50 checkouts at once for the last 5 units of a size make exactly 5 orders and leave stock at 0', async () => {
    const sku = `NL-RACE-${backend}`;
    await request(t.server)
      .put('/v1/catalog/products')
      .send([{ sku, title: 'Last Five Parka', price: 199, currency: 'EUR', url: `https://shop.nordlys.example/p/${sku}`, sizes: [{ size: 'M', stock: 5 }, { size: 'L', stock: 9 }] }])
      .expect(200);
    const ids = Array.from({ length: 50 }, (_, i) => `cust-race-${backend}-${i}`);
    const registered = await request(t.server)
      .put('/v1/customers')
      .send(ids.map((id) => ({ id, currency: 'EUR', address: { name: id, line1: '1 Test Road', city: 'Cork', postalCode: 'T12 AB34', country: 'IE' }, paymentMethod: { type: 'card', last4: '0005', token: `pm_${id}` } })));
    expect(registered.status, JSON.stringify(registered.body)).toBe(200);

    const answers = await Promise.all(
      ids.map((customer, i) => {
        const token = mintToken(t.config.tokenKeys, { sub: customer, msg: `race-${i}`, tpl: 'recommendations', skus: [sku], currency: 'EUR', locale: 'en' });
        return request(t.server).post(`/amp/v1/checkout?token=${token}`).set(v2).type('form').send({ sku, size: 'M', quantity: '1' });
      }),
    );
    const placed = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 409);
    expect(placed).toHaveLength(5);
    expect(refused).toHaveLength(45);
    for (const r of refused) expect(r.body.error).toEqual({ code: 'out_of_stock', message: 'Sorry, Last Five Parka in size M just sold out.' });
    expect(await stock(sku, 'M')).toBe(0);
    expect(await stock(sku, 'L')).toBe(9);
    const orders = (await Promise.all(ids.map((id) => t.store.orders.listByCustomer(id)))).flat();
    expect(orders).toHaveLength(5);
    expect(new Set(orders.map((o) => o.customerId)).size).toBe(5);
  });
});

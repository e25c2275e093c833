import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ampUrls, decodeEntities, expectAmpAnswer, mintToken, openAmpApp, pathOf, renderAmp, v2, type AmpApp } from './amp-kit.ts';
import { testClock } from '../support/test-clock.ts';

let t: AmpApp;
beforeAll(async () => {
  t = await openAmpApp('sqlite');
});
afterAll(async () => {
  await t?.destroy();
});

// The products a message offered: its token buys these (and what is already in the cart).
const OFFERED = ['NL-TOP-001', 'NL-ACC-001', 'NL-TOP-002', 'NL-JNS-001', 'NL-DRS-003', 'NL-SHO-002', 'NL-TOP-003'];
const cartPath = (customer: string, extra: Record<string, unknown> = {}) =>
  `/amp/v1/cart?token=${mintToken(t.config.tokenKeys, { sub: customer, msg: `m-${customer}`, tpl: 'recommendations', currency: 'EUR', locale: 'en', skus: OFFERED, ...extra })}`;

describe('POST /amp/v1/cart: the customer’s one cart', () => {
  it('adds, sets, removes, and answers in the shape amp-mustache renders', async () => {
    const path = cartPath('cust-cart-1');
    const post = (fields: Record<string, string>) => request(t.server).post(path).set(v2).type('form').send(fields);

    const added = await post({ sku: 'NL-TOP-001', size: 'S', quantity: '1', action: 'add' });
    expectAmpAnswer(added);
    expect(added.status).toBe(200);
    expect(Object.keys(added.body).sort()).toEqual(['count', 'currency', 'empty', 'freeShipping', 'items', 'line', 'subtotal', 'subtotalText']);
    expect(Object.keys(added.body.freeShipping).sort()).toEqual(['percent', 'reached', 'remainingText', 'thresholdText']);
    expect(added.body.items[0]).toEqual({
      sku: 'NL-TOP-001',
      title: 'Fjord Linen Shirt',
      size: 'S',
      quantity: 1,
      image: expect.stringMatching(/^https:\/\//),
      available: true,
      unitPriceText: '€49.95',
      lineTotalText: '€49.95',
    });
    expect((await post({ sku: 'NL-TOP-001', size: 'S', quantity: '2', action: 'add' })).body).toMatchObject({ count: 3, subtotalText: '€149.85', freeShipping: { reached: true } });
    expect((await post({ sku: 'NL-TOP-001', size: 'S', quantity: '1' })).body).toMatchObject({ count: 1, line: { quantity: 1 }, freeShipping: { remainingText: '€50.05', percent: 50 } });
    await post({ sku: 'NL-ACC-001', size: 'ONE', quantity: '1', action: 'add' });
    expect((await post({ sku: 'NL-TOP-001', size: 'S', action: 'remove' })).body).toMatchObject({ count: 1, line: null });
    const emptied = await post({ sku: 'NL-ACC-001', size: 'ONE', quantity: '0', action: 'set' });
    expect(emptied.body).toMatchObject({ empty: true, count: 0, items: [], subtotalText: '€0.00', line: null });
  });

  it('refuses more than is in stock, in words for the customer', async () => {
    const res = await request(t.server).post(cartPath('cust-cart-2')).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'XL', quantity: '3' });
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({ code: 'out_of_stock', message: 'Sorry, only 2 of Fjord Linen Shirt in size XL left.' });
    const soldOut = await request(t.server).post(cartPath('cust-cart-2')).set(v2).type('form').send({ sku: 'NL-TOP-002', size: 'XS', quantity: '1' });
    expect(soldOut.body.error.message).toBe('Sorry, Merino Rib Knit Top in size XS just sold out.');
  });

  it('a store cart that exists wins over the cart of an email whose token does not say when it showed it (signed before `cat`)', async () => {
    await t.store.carts.setItem('cust-cart-3', 'NL-SHO-002', '38', 1);
    const res = await request(t.server)
      .get(cartPath('cust-cart-3', { cart: [{ sku: 'NL-TOP-001', size: 'M', quantity: 4 }] }))
      .set(v2);
    expect(res.body.items.map((i: { sku: string }) => i.sku)).toEqual(['NL-SHO-002']);
  });

  it('of the store cart and the cart the email showed, the newer is the cart: shown, changed and checked out', async () => {
    const shown = { cart: [{ sku: 'NL-TOP-001', size: 'M', quantity: 4 }] };
    // Weeks old, before the email was rendered: the email's cart is the customer's cart.
    await t.store.carts.setItem('cust-cart-5', 'NL-SHO-002', '38', 1);
    testClock.advance(2_000);
    const path = cartPath('cust-cart-5', { ...shown, cartAt: Math.floor(testClock.now().getTime() / 1000) });
    const live = await request(t.server).get(path).set(v2);
    expect(live.body.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity])).toEqual([['NL-TOP-001', 4]]);
    // A change from the email replaces the older store cart's lines with the email's, then applies.
    const changed = await request(t.server).post(path).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'M', quantity: '2', action: 'set' });
    expect(changed.body.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity])).toEqual([['NL-TOP-001', 2]]);
    expect((await t.store.carts.get('cust-cart-5')).items).toEqual([{ sku: 'NL-TOP-001', size: 'M', quantity: 2 }]);
    // The store cart is newer than the email now: the change stands when the email is opened again.
    expect((await request(t.server).get(path).set(v2)).body.items.map((i: { quantity: number }) => i.quantity)).toEqual([2]);

    // An email rendered before the store cart last changed shows the store cart.
    const older = cartPath('cust-cart-5', { ...shown, cartAt: Math.floor(testClock.now().getTime() / 1000) - 60 });
    expect((await request(t.server).get(older).set(v2)).body.items.map((i: { quantity: number }) => i.quantity)).toEqual([2]);
  });

  it('prices in the customer’s market: kronor for a Swedish customer, whatever the token says', async () => {
    await request(t.server).put('/v1/customers').send([{ id: 'cust-cart-se', locale: 'sv-SE', currency: 'SEK', timezone: 'Europe/Stockholm' }]).expect(200);
    const res = await request(t.server).post(cartPath('cust-cart-se', { currency: 'EUR', locale: 'sv-SE' })).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'M', quantity: '2' });
    expect(res.body).toMatchObject({ currency: 'SEK', subtotal: 1098 });
    expect(res.body.subtotalText).toMatch(/^1\s098,00\skr$/);
    expect(res.body.freeShipping.reached).toBe(true);
  });

  it('applies the message’s discount to its own products until the offer expires', async () => {
    const offer = { skus: ['NL-TOP-001'], percentOff: 20 };
    const live = await request(t.server)
      .post(cartPath('cust-cart-4', { ...offer, offerExpiresAt: new Date(testClock.now().getTime() + 3_600_000).toISOString() }))
      .set(v2)
      .type('form')
      .send({ sku: 'NL-TOP-001', size: 'M', quantity: '1' });
    expect(live.body.items[0].unitPriceText).toBe('€39.96');
    const expired = await request(t.server)
      .get(cartPath('cust-cart-4', { ...offer, offerExpiresAt: new Date(testClock.now().getTime() - 1000).toISOString() }))
      .set(v2);
    expect(expired.body.items[0].unitPriceText).toBe('€49.95');
  });
});

describe('shop the look', () => {
  it('adds every piece of the look in its chosen size once, however often the form is sent', async () => {
    const { amp } = await renderAmp(t, 'shop-the-look', 'ingrid', 'look');
    const form = /<form\b[\s\S]*?<\/form>/.exec(amp)![0].replace(/<template[\s\S]*?<\/template>/g, '');
    const fields: Record<string, string> = {};
    for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[decodeEntities(m[1]!)] = decodeEntities(m[2]!);
    // What amp-selector submits: the option marked selected in each piece's selector.
    for (const m of form.matchAll(/<amp-selector name="([^"]+)"[\s\S]*?option="([^"]+)" selected/g)) fields[decodeEntities(m[1]!)] = decodeEntities(m[2]!);
    expect(fields).toMatchObject({ action: 'add-look', 'sku.0': 'NL-TOP-003', 'size.0': 'M', 'sku.1': 'NL-JNS-001', 'size.1': '28' });

    const url = pathOf(ampUrls(amp).forms[0]!);
    const first = await request(t.server).post(url).set(v2).type('form').send(fields);
    expectAmpAnswer(first);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.message).toMatch(/^Looken ligger i din varukorg: 4 plagg, delsumma /);
    await request(t.server).post(url).set(v2).type('form').send(fields).expect(200);
    const cart = (await t.store.carts.get('cust-ingrid')).items;
    expect(cart).toHaveLength(4);
    expect(cart.every((i) => i.quantity === 1)).toBe(true);
  });
});

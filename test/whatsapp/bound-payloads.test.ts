import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTap } from '../../src/channels/whatsapp/conversation-payloads.ts';
import { payloadOwner } from '../../src/render/whatsapp/message-payloads.ts';
import { signPayload } from '../../src/commerce/signed-token.ts';
import type { Product } from '../../src/personalize/recommendations-schema.ts';
import { renderMessage, type RenderResult } from '../../src/render/render-message.ts';
import { memoryLog, picks, profile } from '../http/helpers.ts';
import { ampUrls, pathOf, v2 } from '../amp/amp-kit.ts';
import { BACKENDS } from '../store/backends.ts';
import { renderKit, TEST_KEYS } from '../support/render-kit.ts';
import { testClock } from '../support/test-clock.ts';
import { openWhatsAppApp, PHONES, type WhatsAppTestApp } from './helpers.ts';

const CARL = '+353871234567';
const SENDER = 'offers@nordlys.example';
/** The abandoned cart of the bug report: 3 items, €159.85. */
const SHOWN_CART = {
  items: [
    { sku: 'NL-TOP-002', size: 'M', quantity: 1 },
    { sku: 'NL-TOP-001', size: 'M', quantity: 1 },
    { sku: 'NL-ACC-001', size: 'ONE', quantity: 1 },
  ],
};
const SHOWN_CONFIRM =
  '1 × Merino Rib Knit Top, size M — €69.95\n1 × Fjord Linen Shirt, size M — €49.95\n1 × Tove Wool Scarf, size ONE — €39.95\nTotal €159.85.\nDeliver to Carl B., 8 Merr…, Dublin?\n1. Yes\n2. Change address\n3. Cancel';
const REFUSED = {
  en: "This button was sent to someone else, so I can't use it here. Nothing was ordered.",
  tr: 'Bu düğme başka birine gönderildi, bu yüzden burada kullanamıyorum. Hiçbir şey sipariş edilmedi.',
  sv: 'Den här knappen skickades till någon annan, så jag kan inte använda den här. Inget har beställts.',
};

/** Every button and list row id of a rendered WhatsApp message, approved variables included. */
function payloadsOf(result: RenderResult): string[] {
  const wa = result.whatsapp;
  if (!wa || wa.suppressed) throw new Error('no WhatsApp message');
  const ids = [...(wa.preview.buttons ?? []).map((b) => b.id ?? ''), ...(wa.preview.list?.items ?? []).map((r) => r.id)].filter((id) => !id.startsWith('{{'));
  const variables = Object.values(JSON.parse(wa.message.contentVariables ?? '{}') as Record<string, string>).filter((v) => parseTap(v, TEST_KEYS));
  return [...ids, ...variables];
}

describe('payloads within WhatsApp’s 200 characters, with long SKUs and message ids', async () => {
  const { deps, fixtures } = await renderKit();
  const longSku = (n: number) => `NL-${String(n).padStart(2, '0')}-${'x'.repeat(58)}`; // 64 characters, the API's maximum
  const longProduct = (n: number, sku = longSku(n)): Product =>
    ({ sku, title: `Long ${n}`, category: 'tops', price: 40, currency: 'EUR', url: `https://shop.nordlys.example/p/${n}`, image: 'https://cdn.nordlys.example/img/x.jpg', sizes: [{ size: 'EU 38:W', stock: 3 }], tags: [], newArrival: false }) as Product;
  const products = Array.from({ length: 12 }, (_, i) => longProduct(i));
  const catalog = new Map(products.map((p) => [p.sku, p]));
  const withLong = { ...deps, catalog: (sku: string) => catalog.get(sku) ?? deps.catalog(sku) };
  const messageId = `m:${'7'.repeat(126)}`; // 128 characters, the API's maximum
  const rachel = fixtures.profiles.get('rachel')!;
  const open = { ...rachel, whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' } };
  const offer = { percentOff: 15, expiresAt: '2026-12-01T23:59:59Z' };
  const owner = payloadOwner(rachel.id);

  it('price-drop Buy with a 128-character SKU keeps product, size and offer; the message id goes, and the warning says so', () => {
    const sku = `NL-${'y'.repeat(125)}`; // a catalog SKU may have 128
    const r = renderMessage({ template: 'price-drop', profile: open, recommendations: { items: [longProduct(99, sku)], offer }, channels: ['whatsapp'], context: { messageId, now: '2026-11-22T10:00:00Z' } }, deps);
    const ids = payloadsOf(r);
    for (const id of ids) expect(id.length, id).toBeLessThanOrEqual(200);
    expect(ids.map((id) => parseTap(id, TEST_KEYS))).toEqual([
      { kind: 'buy', sku, size: 'EU 38:W', messageId: '', offer: { percentOff: 15, expiresAt: Date.parse(offer.expiresAt) / 1000 }, owner },
      { kind: 'later', owner },
      { kind: 'stop', owner },
    ]);
    expect(r.warnings).toContain("WhatsApp payload 'buy0': the message id (orders from it are not attributed to the message) left out to stay within 200 characters");
  });

  it('list rows and "See picks" stay within the limit; picks keeps as many products as fit', () => {
    const session = renderMessage({ template: 'recommendations', profile: open, recommendations: { items: products.slice(0, 8) }, channels: ['whatsapp'], context: { messageId } }, withLong);
    const rows = payloadsOf(session);
    expect(rows).toHaveLength(8);
    for (const id of rows) expect(id.length, id).toBeLessThanOrEqual(200);
    expect(parseTap(rows[3]!, TEST_KEYS)).toEqual({ kind: 'pick', sku: longSku(3), messageId: '', owner });

    const approved = renderMessage({ template: 'recommendations', profile: rachel, recommendations: { items: products.slice(0, 8) }, channels: ['whatsapp'], context: { messageId } }, withLong);
    const [seePicks, stop] = payloadsOf(approved);
    expect(seePicks!.length).toBeLessThanOrEqual(200);
    expect(stop!.length).toBeLessThanOrEqual(200);
    expect(parseTap(seePicks!, TEST_KEYS)).toEqual({ kind: 'picks', messageId: '', skus: [longSku(0), longSku(1)], owner });
    expect(approved.warnings).toContain("WhatsApp payload 'picks': the message id (orders from it are not attributed to the message) and 6 of its 8 products left out to stay within 200 characters");
  });

  it('abandoned-cart "Check out" carries the lines it showed before the message id, and their digest when they cannot fit', () => {
    const three = renderMessage({ template: 'abandoned-cart', profile: rachel, cart: SHOWN_CART, channels: ['whatsapp'], context: { messageId, now: '2026-11-22T10:00:00Z' } }, deps);
    const [checkout] = payloadsOf(three);
    expect(checkout!.length).toBeLessThanOrEqual(200);
    expect(parseTap(checkout!, TEST_KEYS)).toEqual({
      kind: 'cart',
      messageId: '',
      shown: { at: Date.parse('2026-11-22T10:00:00Z') / 1000, lines: [['NL-TOP-002', 'M', 1], ['NL-TOP-001', 'M', 1], ['NL-ACC-001', 'ONE', 1]] },
      owner,
    });

    const many = { items: products.slice(0, 10).map((p) => ({ sku: p.sku, size: 'EU 38:W', quantity: 2 })) };
    const big = renderMessage({ template: 'abandoned-cart', profile: rachel, cart: many, channels: ['whatsapp'], context: { messageId: 'msg-big', now: '2026-11-22T10:00:00Z' } }, withLong);
    const [digested] = payloadsOf(big);
    expect(digested!.length).toBeLessThanOrEqual(200);
    expect(parseTap(digested!, TEST_KEYS)).toMatchObject({ kind: 'cart', messageId: 'msg-big', shown: { at: 1795341600, digest: expect.stringMatching(/^[\w-]{16}$/) }, owner });
    expect(big.warnings.some((w) => w.startsWith("WhatsApp payload 'cart': the cart's 10 lines (their digest instead"))).toBe(true);
  });
});

describe.each(BACKENDS)('buttons bound to their customer, and the cart an abandoned-cart message shows (%s)', (backend) => {
  let t: WhatsAppTestApp;
  let log: ReturnType<typeof memoryLog>;
  beforeAll(async () => {
    log = memoryLog();
    t = await openWhatsAppApp(backend, { env: { AMP_ALLOWED_SENDERS: SENDER }, logger: log.logger });
  });
  afterAll(async () => {
    await t?.close();
  });

  const last = () => t.twilio.sent.at(-1)!;
  const render = async (body: Record<string, unknown>) => (await request(t.app).post('/v1/render').send(body).expect(200)).body;
  /**
   * The payload of the rendered message's button that taps as `kind`: an approved template's
   * variable while the window is closed, a session button once the customer has written.
   */
  const button = (rendered: { whatsapp: { message: { contentVariables?: string }; preview: { buttons?: { id?: string }[] } } }, kind: string) => {
    const candidates = [...Object.values(JSON.parse(rendered.whatsapp.message.contentVariables ?? '{}') as Record<string, string>), ...(rendered.whatsapp.preview.buttons ?? []).map((b) => b.id ?? '')];
    const id = candidates.find((c) => parseTap(c, t.config.tokenKeys)?.kind === kind);
    if (!id) throw new Error(`no ${kind} button in ${JSON.stringify(rendered.whatsapp)}`);
    return id;
  };
  const conversation = async (customerId: string) => {
    const c = await t.store.conversations.get(customerId);
    return { step: c?.step, state: c?.state };
  };
  const carlCart = (context: Record<string, unknown>, channels = ['whatsapp']) =>
    render({ template: 'abandoned-cart', profile: { ...profile('carl-cart'), cart: undefined }, cart: SHOWN_CART, channels, context });

  it('Rachel’s, Sophie’s and Carl’s buy, pick, picks and cart buttons tapped on Emre’s phone are refused; his own purchase goes on; theirs still work', async () => {
    // Emre is choosing a size in his own purchase when the others' buttons reach him.
    const own = await render({ template: 'price-drop', profile: profile('emre'), recommendations: picks('price-drop'), channels: ['whatsapp'], context: { messageId: 'msg-emre' } });
    await t.tap(PHONES.emre, button(own, 'buy'));
    const sizeQuestion = last().Body!;
    expect(sizeQuestion).toBe('Merino Rib Knit Top: ₺2.974,15. Hangi bedeni istersiniz?\n1. S\n2. M\n3. L');
    const before = await conversation('cust-emre');

    const rachelBuy = button(await render({ template: 'price-drop', profile: profile('rachel'), recommendations: picks('price-drop'), channels: ['whatsapp'], context: { messageId: 'msg-rachel-drop' } }), 'buy');
    const rachelPicks = button(await render({ template: 'recommendations', profile: profile('rachel'), recommendations: { items: [{ sku: 'NL-DRS-001' }, { sku: 'NL-SWM-001' }] }, channels: ['whatsapp'], context: { messageId: 'msg-rachel-picks' } }), 'picks');
    const sophie = await render({ template: 'recommendations', profile: { ...profile('sophie'), whatsapp: { lastInboundAt: testClock.now().toISOString() } }, recommendations: { items: [{ sku: 'NL-SKN-002' }, { sku: 'NL-TOP-001' }] }, channels: ['whatsapp'], context: { messageId: 'msg-sophie-list' } });
    const sophieRow = sophie.whatsapp.preview.list.items[0].id as string;
    const carlCheckout = button(await carlCart({ messageId: 'msg-carl-cart' }), 'cart');

    for (const [id, field] of [[rachelBuy, 'ButtonPayload'], [rachelPicks, 'ButtonPayload'], [sophieRow, 'ListId'], [carlCheckout, 'ButtonPayload']] as const) {
      await t.tap(PHONES.emre, id, field);
      expect(last().Body).toBe(`${REFUSED.tr}\n${sizeQuestion}`);
      expect(await conversation('cust-emre')).toEqual(before);
    }
    for (const customer of ['cust-emre', 'cust-rachel', 'cust-sophie', 'cust-carl']) expect(await t.store.orders.listByCustomer(customer)).toEqual([]);
    expect((await t.store.carts.get('cust-emre')).items).toEqual([]);
    expect((await t.store.carts.get('cust-carl')).updatedAt).toBeNull();

    const refusals = log.lines.filter((l) => l.msg === 'WhatsApp tap refused: the button was sent to another customer');
    expect(refusals.map((l) => [l.customerId, l.tap, l.payloadOwner, l.messageId])).toEqual([
      ['cust-emre', 'buy', payloadOwner('cust-rachel'), 'msg-rachel-drop'],
      ['cust-emre', 'picks', payloadOwner('cust-rachel'), 'msg-rachel-picks'],
      ['cust-emre', 'pick', payloadOwner('cust-sophie'), 'msg-sophie-list'],
      ['cust-emre', 'cart', payloadOwner('cust-carl'), 'msg-carl-cart'],
    ]);
    const logged = JSON.stringify(log.lines);
    for (const phone of [PHONES.emre, PHONES.rachel, PHONES.sophie, CARL]) expect(logged).not.toContain(phone.slice(1));

    // Emre finishes his own purchase: only what he chose is ordered.
    await t.say(PHONES.emre, 'M');
    await t.say(PHONES.emre, '1');
    await t.say(PHONES.emre, 'evet');
    const [order, ...more] = await t.store.orders.listByCustomer('cust-emre');
    expect(more).toEqual([]);
    expect(order).toMatchObject({ messageId: 'msg-emre', lines: [{ sku: 'NL-TOP-002', size: 'M', quantity: 1 }] });

    // On their own phones the same buttons work.
    await t.tap(PHONES.rachel, rachelBuy);
    expect(last().Body).toMatch(/^Merino Rib Knit Top costs €59\.46\. Your size M is in stock\. Which size would you like\?/);
    await t.tap(PHONES.rachel, rachelPicks);
    expect(last().Body).toBe('Which one would you like?\n1. Nordlys Midi Slip Dress — €119.00\n2. Skagen Swimsuit — €59.95');
    await t.tap(PHONES.sophie, sophieRow, 'ListId');
    expect(last().Body).toBe('Polar Glow Vitamin C Serum. How many would you like?\n1. 1\n2. 2\n3. 3');
    await t.tap(CARL, carlCheckout);
    expect(last().Body).toBe(SHOWN_CONFIRM);
    await t.say(CARL, 'cancel');
  });

  it('a message button signed before payloads named their customer is refused as from an earlier message', async () => {
    const unbound = signPayload('buy:NL-TOP-001:M:msg-old', t.config.tokenKeys);
    await t.tap(PHONES.ingrid, unbound);
    expect(last().Body).toMatch(/^Den knappen hör till ett äldre meddelande\.\nHej Ingrid!/);
    expect(await t.store.orders.listByCustomer('cust-ingrid')).toEqual([]);
    expect(log.lines.filter((l) => l.msg === 'WhatsApp tap refused: a message button from before payloads were bound to their customer')).toEqual([
      expect.objectContaining({ customerId: 'cust-ingrid', tap: 'buy', payloadOwner: null }),
    ]);
  });

  it('"Stop offers" is honoured for whoever taps it, whoever it was sent to', async () => {
    const rachelStop = button(await render({ template: 'price-drop', profile: profile('rachel'), recommendations: picks('price-drop'), channels: ['whatsapp'], context: { messageId: 'msg-rachel-stop' } }), 'stop');
    await t.tap(PHONES.ingrid, rachelStop);
    expect(await t.store.consents.get('cust-ingrid', 'whatsapp')).toMatchObject({ granted: false, source: 'whatsapp:button' });
    expect(await t.store.consents.get('cust-rachel', 'whatsapp')).toBeUndefined();
    await t.say(PHONES.ingrid, 'börja');
  });

  it('abandoned cart: "Check out" confirms the 3 items the message showed though the store cart is older, and "yes" orders exactly them', async () => {
    // Carl's store cart from an earlier visit: one line, weeks before the campaign's message.
    await t.store.carts.replace('cust-carl', [{ sku: 'NL-SHO-002', size: '38', quantity: 1 }]);
    testClock.advance(5_000);
    const rendered = await carlCart({ messageId: 'msg-carl-1', campaignId: 'cmp-cart' });
    expect(rendered.whatsapp.preview.body).toMatch(/^Hi Carl, your cart with 3 items is saved \(€159\.85\)\./);

    await t.tap(CARL, button(rendered, 'cart'));
    expect(last().Body).toBe(SHOWN_CONFIRM);
    await t.say(CARL, 'yes');
    const order = (await t.store.orders.listByCustomer('cust-carl')).find((o) => o.messageId === 'msg-carl-1');
    expect(order).toMatchObject({ channel: 'whatsapp', status: 'placed', totalMinor: 15985 });
    expect(order!.lines.map((l) => [l.sku, l.size, l.quantity, l.unitPriceMinor])).toEqual([
      ['NL-TOP-002', 'M', 1, 6995],
      ['NL-TOP-001', 'M', 1, 4995],
      ['NL-ACC-001', 'ONE', 1, 3995],
    ]);
    expect((await t.store.carts.get('cust-carl')).items).toEqual([]);
  });

  it('the same after an earlier order emptied the store cart (the reported case), and the AMP "Complete order" of the same render buys the same', async () => {
    testClock.advance(5_000);
    const rendered = await carlCart({ messageId: 'msg-carl-2' }, ['email', 'whatsapp']);
    const checkout = pathOf(ampUrls(rendered.email.amp as string).forms.find((u) => u.includes('/amp/v1/checkout?'))!);
    const placed = await request(t.app).post(checkout).set(v2).type('form').send({ from: 'cart' });
    // Its WhatsApp confirmation goes out first.
    await t.whatsapp.idle();
    expect(placed.status, JSON.stringify(placed.body)).toBe(200);
    expect(placed.body).toMatchObject({ status: 'placed', totalText: '€159.85' });
    const order = (await t.store.orders.get(placed.body.orderId as string))!;
    expect(order).toMatchObject({ channel: 'email', messageId: 'msg-carl-2' });
    expect(order.lines.map((l) => [l.sku, l.size, l.quantity])).toEqual([['NL-TOP-002', 'M', 1], ['NL-TOP-001', 'M', 1], ['NL-ACC-001', 'ONE', 1]]);

    // The cart was checked out after the message: its WhatsApp "Check out" has nothing left to buy.
    const ordersBefore = (await t.store.orders.listByCustomer('cust-carl')).length;
    await t.tap(CARL, button(rendered, 'cart'));
    expect(last().Body).toMatch(/^Your cart is empty\.\nHi Carl!/);
    expect(await t.store.orders.listByCustomer('cust-carl')).toHaveLength(ordersBefore);

    // A new message after that order: its "Check out" confirms its own lines again, not "empty".
    testClock.advance(5_000);
    await t.tap(CARL, button(await carlCart({ messageId: 'msg-carl-3' }), 'cart'));
    expect(last().Body).toBe(SHOWN_CONFIRM);
    await t.say(CARL, 'cancel');
  });

  it('a cart the customer changed after the message wins: "Check out" confirms that one', async () => {
    testClock.advance(5_000);
    const rendered = await carlCart({ messageId: 'msg-carl-4' });
    testClock.advance(2_000);
    await t.store.carts.replace('cust-carl', [{ sku: 'NL-SKN-001', size: '50ml', quantity: 2 }]);
    await t.tap(CARL, button(rendered, 'cart'));
    expect(last().Body).toMatch(/^2 × [^\n]+, size 50ml — €39\.95\nTotal €79\.90\.\nDeliver to Carl B\./);
    await t.say(CARL, 'cancel');
  });

  it('lines that do not fit in the button: "Check out" works only while the store cart is exactly them', async () => {
    const lines = ['NL-TOP-001:S', 'NL-TOP-002:S', 'NL-TOP-003:S', 'NL-DRS-001:S', 'NL-DRS-002:M', 'NL-JNS-001:26', 'NL-SHO-001:37', 'NL-SHO-002:37', 'NL-SWM-001:S', 'NL-SKI-001:S'];
    const cart = { items: lines.map((l) => ({ sku: l.split(':')[0]!, size: l.split(':')[1]!, quantity: 1 })) };
    const messageId = `msg-${'9'.repeat(100)}`;
    testClock.advance(5_000);
    const bigCart = async () =>
      button(await render({ template: 'abandoned-cart', profile: { ...profile('carl-cart'), cart: undefined }, cart, channels: ['whatsapp'], context: { messageId } }), 'cart');
    const first = await bigCart();
    expect(parseTap(first, t.config.tokenKeys)).toMatchObject({ shown: { digest: expect.any(String) } });
    await t.tap(CARL, first);
    expect(last().Body).toMatch(/^That cart has too many items to check out here\. You can complete your order at https:\/\/shop\.nordlys\.example\/cart\nHi Carl!/);

    // When the shop's cart and ours agree, the message shows ours and its button can order it.
    await t.store.carts.replace('cust-carl', cart.items);
    testClock.advance(5_000);
    await t.tap(CARL, await bigCart());
    expect(last().Body).toMatch(/^1 × Fjord Linen Shirt, size S — €49\.95\n/);
    expect(last().Body).toContain('\n…\nTotal €1,086.65.\n');
    await t.say(CARL, 'cancel');
  });
});

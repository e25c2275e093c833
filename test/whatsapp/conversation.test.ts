import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMinor } from '../../src/commerce/money.ts';
import { picks, profile } from '../http/helpers.ts';
import { choiceIds, openWhatsAppApp, PHONES, type WhatsAppTestApp } from './helpers.ts';
import { testClock } from '../support/test-clock.ts';

/**
 * Conversations in Turkish and Swedish, answered mostly in free text. This app has no Content
 * definitions synced, so rich prompts go out as numbered plain text (and are still understood).
 */
let t: WhatsAppTestApp;
beforeAll(async () => {
  t = await openWhatsAppApp('sqlite');
});
afterAll(async () => {
  await t?.close();
});

const last = () => t.twilio.sent.at(-1)!;
const openWindow = (name: string) => ({ ...profile(name), whatsapp: { lastInboundAt: testClock.now().toISOString() } });

async function sessionButtons(template: string, name: string, recommendations: unknown): Promise<{ id: string; title: string }[]> {
  const res = await request(t.app).post('/v1/render').send({ template, profile: openWindow(name), recommendations, channels: ['whatsapp'], context: { messageId: `msg-${name}-${template}` } }).expect(200);
  const preview = res.body.whatsapp.preview;
  return preview.buttons ?? preview.list.items.map((r: { id: string; item: string }) => ({ id: r.id, title: r.item }));
}

describe('in Turkish (Emre, TRY)', () => {
  it('"Satın al" → size typed "m" → "2" → "evet": an order in lira', async () => {
    const [buy] = await sessionButtons('price-drop', 'emre', picks('price-drop'));
    expect(buy!.title).toBe('Satın al');
    await t.tap(PHONES.emre, buy!.id);
    // The price drop's 15% off, as the message showed it.
    expect(last().Body).toBe('Merino Rib Knit Top: ₺2.974,15. Hangi bedeni istersiniz?\n1. S\n2. M\n3. L');

    await t.say(PHONES.emre, 'm');
    expect(last().Body).toBe('Merino Rib Knit Top, M beden. Kaç adet istersiniz?\n1. 1\n2. 2\n3. 3');

    await t.say(PHONES.emre, 'iki tane lütfen');
    expect(last().Body).toMatch(/^Üzgünüm, bunu anlayamadım\.\nMerino Rib Knit Top, M beden\. Kaç adet istersiniz\?/);

    await t.say(PHONES.emre, '2');
    const [unit, total] = [formatMinor(297415, 'TRY', 'tr'), formatMinor(594830, 'TRY', 'tr')];
    expect(last().Body).toBe(`2 × Merino Rib Knit Top, M beden — ${unit}\nToplam ${total}.\nTeslimat adresi: Emre Y., Bağdat…, İstanbul. Onaylıyor musunuz?\n1. Evet\n2. Adresi değiştir\n3. İptal`);

    await t.say(PHONES.emre, 'Evet!');
    const [order] = await t.store.orders.listByCustomer('cust-emre');
    expect(order).toMatchObject({ channel: 'whatsapp', currency: 'TRY', totalMinor: 594830, messageId: 'msg-emre-price-drop', status: 'awaiting_payment' });
    expect(last().Body!.startsWith(`Merhaba Emre, ${order!.number} numaralı siparişiniz onaylandı:\n2 × Merino Rib Knit Top, M beden — ${unit}\nToplam ${total}.\nSiparişinizi tamamlamak için buradan ödeyin: https://mail.example.com/pay/`)).toBe(true);
  });
});

describe('in Swedish (Ingrid, SEK)', () => {
  it('a list-picker row → size "30" (a size name, not option 30) → "1" → "ja"', async () => {
    const rows = await sessionButtons('recommendations', 'ingrid', { items: [{ sku: 'NL-JNS-001' }, { sku: 'NL-TOP-001' }] });
    await t.tap(PHONES.ingrid, rows[0]!.id, 'ListId');
    // Her usual jeans size first; 29 and 31 are sold out and never offered.
    const price = formatMinor(98900, 'SEK', 'sv');
    expect(last().Body).toBe(
      `Strand High-Rise Straight Jeans kostar ${price}. Din storlek 28 finns i lager. Vilken storlek vill du ha?\n1. 28 — Din vanliga storlek\n2. 24 — I lager\n3. 25 — I lager\n4. 26 — I lager\n5. 27 — I lager\n6. 30 — I lager\n7. 32 — I lager`,
    );

    await t.say(PHONES.ingrid, 'banan');
    expect(last().Body).toMatch(/^Förlåt, det förstod jag inte\.\nStrand High-Rise Straight Jeans kostar/);

    await t.say(PHONES.ingrid, '30');
    expect(last().Body).toMatch(/^Strand High-Rise Straight Jeans, storlek 30\. Hur många vill du ha\?/);

    await t.say(PHONES.ingrid, 'hjälp');
    expect(last().Body).toMatch(/^Svara med en siffra eller tryck på en knapp för att välja\..*\nStrand High-Rise Straight Jeans, storlek 30\. Hur många vill du ha\?/s);

    await t.say(PHONES.ingrid, '1');
    expect(last().Body).toBe(`1 × Strand High-Rise Straight Jeans, storlek 30 — ${price}\nTotalt ${price}.\nLeverera till Ingrid L., Fjällg…, Åre?\n1. Ja\n2. Ändra adress\n3. Avbryt`);

    await t.say(PHONES.ingrid, 'ja');
    const [order] = await t.store.orders.listByCustomer('cust-ingrid');
    expect(order).toMatchObject({ currency: 'SEK', totalMinor: 98900, lines: [{ sku: 'NL-JNS-001', size: '30', quantity: 1, unitPriceMinor: 98900 }] });
    expect(last().Body!.startsWith(`Hej Ingrid! Din order ${order!.number} är bekräftad:\n1 × Strand High-Rise Straight Jeans, storlek 30 — ${price}\nTotalt ${price}.\nBetala här`)).toBe(true);
  });

  it('"avbryt" at the confirmation cancels: nothing is ordered', async () => {
    const [buy] = await sessionButtons('price-drop', 'ingrid', picks('price-drop'));
    await t.tap(PHONES.ingrid, buy!.id);
    await t.say(PHONES.ingrid, 'S');
    await t.say(PHONES.ingrid, '1');
    expect(last().Body).toMatch(/^1 × Merino Rib Knit Top, storlek S/);
    await t.say(PHONES.ingrid, 'Avbryt');
    expect(last().Body).toBe('Okej, jag har avbrutit. Inget har beställts.');
    expect(await t.store.orders.listByCustomer('cust-ingrid')).toHaveLength(1);
  });
});

describe('the shared cart', () => {
  it('"cart" shows the cart the email edits; "Check out" orders it and empties it', async () => {
    await t.store.carts.addItem('cust-sophie', 'NL-TOP-001', 'M', 1);
    await t.store.carts.addItem('cust-sophie', 'NL-SKN-002', '30ml', 2);
    await t.say(PHONES.sophie, 'my cart');
    expect(last().Body).toBe(
      'Your cart:\n1 × Fjord Linen Shirt, size M — €49.95\n2 × Polar Glow Vitamin C Serum, size 30ml — €44.95\nSubtotal €139.85.\n' +
        `${t.templates.shared.locales.get('en')!.get('cart.freeShippingReached')}\nCheck out now?\n1. Check out\n2. Cancel`,
    );
    await t.say(PHONES.sophie, '1');
    expect(last().Body).toMatch(/^1 × Fjord Linen Shirt, size M — €49\.95\n2 × Polar Glow Vitamin C Serum, size 30ml — €44\.95\nTotal €139\.85\.\nDeliver to Sophie T\., 14 Can…, London\?/);

    // The email changes the cart meanwhile: the customer confirms the new total.
    await t.store.carts.setItem('cust-sophie', 'NL-SKN-002', '30ml', 1);
    await t.say(PHONES.sophie, 'yes');
    expect(last().Body).toMatch(/^Your cart changed in the meantime\. Here it is again:\n1 × Fjord Linen Shirt, size M — €49\.95\n1 × Polar Glow Vitamin C Serum, size 30ml — €44\.95\nTotal €94\.90\./);
    expect(await t.store.orders.listByCustomer('cust-sophie')).toEqual([]);

    await t.say(PHONES.sophie, 'yes');
    const [order] = await t.store.orders.listByCustomer('cust-sophie');
    expect(order).toMatchObject({ totalMinor: 9490, status: 'placed', lines: [{ sku: 'NL-TOP-001' }, { sku: 'NL-SKN-002', quantity: 1 }] });
    expect((await t.store.carts.get('cust-sophie')).items).toEqual([]);
  });

  it('the abandoned-cart "Check out" button goes straight to the confirmation of the cart the message showed', async () => {
    // A store cart from before the message does not stand in for the cart the message shows.
    await t.store.carts.addItem('cust-carl', 'NL-ACC-001', 'ONE', 1);
    testClock.advance(2_000);
    const [checkout] = await sessionButtons('abandoned-cart', 'carl-cart', undefined);
    await t.tap('+353871234567', checkout!.id);
    expect(last().Body).toMatch(/^1 × Fjord Linen Shirt, size M — €49\.95\n1 × Tove Wool Scarf, size ONE — €39\.95\nTotal €89\.90\.\nDeliver to Carl B\./);
  });

  it('a size that sells out before "yes" goes back to the sizes, never oversells', async () => {
    const [buy] = await sessionButtons('price-drop', 'sophie', picks('price-drop'));
    await t.tap(PHONES.sophie, buy!.id);
    await t.say(PHONES.sophie, 'L');
    await t.say(PHONES.sophie, '1');
    await t.store.db.updateTable('product_sizes').set({ stock: 0 }).where('sku', '=', 'NL-TOP-002').where('size', '=', 'L').execute();
    await t.say(PHONES.sophie, 'yes');
    expect(last().Body).toMatch(/^Sorry, Merino Rib Knit Top in size L has just sold out\.\nMerino Rib Knit Top costs €69\.95\./);
    expect(last().Body).not.toMatch(/\bL\b — /);
    expect(await t.store.orders.listByCustomer('cust-sophie')).toHaveLength(1);
  });

  it('"See picks" from the approved recommendations template lists the message\'s products', async () => {
    const res = await request(t.app)
      .post('/v1/render')
      .send({ template: 'recommendations', profile: profile('rachel'), recommendations: { items: [{ sku: 'NL-DRS-001' }, { sku: 'NL-DRS-003' }, { sku: 'NL-SWM-001' }] }, channels: ['whatsapp'] })
      .expect(200);
    expect(res.body.whatsapp.kind).toBe('template');
    const seePicks = JSON.parse(res.body.whatsapp.message.contentVariables)['5'] as string;
    await t.tap(PHONES.rachel, seePicks);
    expect(last().Body).toBe('Which one would you like?\n1. Nordlys Midi Slip Dress — €119.00\n2. Midsommar Wrap Dress — €99.95\n3. Skagen Swimsuit — €59.95');
    await t.say(PHONES.rachel, 'swimsuit');
    expect(last().Body).toMatch(/^Skagen Swimsuit costs €59\.95\. Your size M is in stock\. Which size would you like\?\n1\. M — Your usual size\n2\. XS — In stock\n/);
  });

  it('the "Stop offers" button opts out like STOP', async () => {
    const buttons = await sessionButtons('price-drop', 'sophie', picks('price-drop'));
    await t.tap(PHONES.sophie, buttons[2]!.id);
    expect(await t.store.consents.get('cust-sophie', 'whatsapp')).toMatchObject({ granted: false, source: 'whatsapp:button' });
    expect(last().Body).toMatch(/^Done: you won't get offers/);
    await t.say(PHONES.sophie, 'start');
  });

  it('a forged or foreign button id is refused and the question repeated', async () => {
    const [buy] = await sessionButtons('price-drop', 'sophie', picks('price-drop'));
    const forged = buy!.id.replace(':NL-TOP-002:', ':NL-SKI-001:');
    expect(forged).not.toBe(buy!.id);
    await t.tap(PHONES.sophie, forged);
    expect(last().Body).toMatch(/^That button belongs to an earlier message\./);
    expect(choiceIds(last(), 'quick-reply')).toEqual([]);
  });
});

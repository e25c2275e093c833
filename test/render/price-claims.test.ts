import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../src/render/build-view.ts';
import { createRenderDeps } from '../../src/render/create-renderer.ts';
import { renderMessage, type RenderDeps, type RenderResult } from '../../src/render/render-message.ts';
import type { RenderRequest } from '../../src/render/render-input.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { ampUrls, expectAmpAnswer, pathOf, SENDER, v2 } from '../amp/amp-kit.ts';
import { openTestApp, removeDir, renderBody } from '../http/helpers.ts';
import { NOW, renderKit, TEST_KEYS } from '../support/render-kit.ts';
import { createManualClock } from '../support/test-clock.ts';

/**
 * Reference ("was") prices come only from facts (issue 15): a compare-at price is never
 * converted into another currency, and a message that announces a reduction does it against
 * the recorded lowest price of the 30 days before it, or not at all.
 */
const { templates, fixtures, deps } = await renderKit();
const manifest = (name: string) => templates.templates.get(name)!.manifest;
const request_ = (template: string, profile: string, extra: Partial<RenderRequest> = {}): RenderRequest => ({ ...sampleRequest(manifest(template), fixtures, profile, { now: NOW }), ...extra });
const inWindow = (r: RenderRequest): RenderRequest => ({ ...r, profile: { ...r.profile, whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' } } });
/** What the customer reads in every part; the AMP part's amp-mustache templates only lay out live answers (checked through /amp/v1/offers below). */
const everything = (r: RenderResult) =>
  [r.email?.subject, r.email?.preheader, r.email?.html, r.email?.amp?.replace(/<template type="amp-mustache">[\s\S]*?<\/template>/g, ''), r.email?.text, JSON.stringify(r.whatsapp)].join('\n');
/** Swedish and Turkish amounts in sv put a no-break space before the currency. */
const nb = (s: string) => s.replace(/ (kr|TRY)\b/g, '\u00a0$1');
const waBody = (r: RenderResult) => (r.whatsapp && !r.whatsapp.suppressed ? r.whatsapp.preview.body : undefined);

/** The fixture catalog as a shop without price history has it: no product carries reference prices. */
const withoutHistory: RenderDeps = createRenderDeps({
  config: { publicBaseUrl: 'https://mail.nordlys.example', tokenKeys: TEST_KEYS, tokenTtlDays: 30, unsubscribeTtlDays: 365, thresholds: deps.thresholds },
  templates,
  catalog: (sku) => {
    const p = fixtures.catalog.get(sku);
    if (!p) return undefined;
    const { referencePrices: _none, ...product } = p;
    return product;
  },
  now: () => new Date(NOW),
});

describe('compare-at prices are never converted between currencies (issue 15)', () => {
  it.each([
    ['emre', '₺3.499,00', '₺4.499,00', '₺4.499,43'],
    ['ayse', '₺3.499,00', '₺4.499,00', '₺4.499,43'],
    ['lars-coast', nb('769,00 kr'), nb('989,00 kr'), nb('988,87 kr')],
  ])('win-back for %s shows the shop\'s own compare-at price in their market', (profile, price, compareAt, invented) => {
    const r = renderMessage(request_('win-back', profile), deps);
    expect(everything(r)).not.toContain(invented);
    // Merino Rib Knit Top, a sale item (compareAtPrices in fixtures/catalog.json); no offer: not at risk.
    expect(r.email!.html).toContain(`<span class="sale">${price}</span> <span class="was">${compareAt}</span>`);
  });

  it('a market without its own compare-at price shows no sale at all, not the base price scaled', () => {
    const top = fixtures.catalog.get('NL-TOP-002')!;
    const { compareAtPrices: _market, ...euroOnly } = top;
    const catalog = (sku: string): CatalogEntry | undefined => (sku === top.sku ? euroOnly : fixtures.catalog.get(sku));
    const r = renderMessage(request_('win-back', 'lars-coast'), { ...deps, catalog });
    expect(r.email!.html).toContain(nb('<span>769,00 kr</span>'));
    expect(r.email!.html).not.toContain(nb('<span class="sale">769,00 kr</span>'));
    // In the base currency the compare-at price stands.
    const euro = renderMessage(request_('win-back', 'rachel'), { ...deps, catalog });
    expect(euro.email!.html).toContain('<span class="sale">€69.95</span> <span class="was">€89.95</span>');
  });
});

describe('a price-drop message announces the reduction against the recorded 30-day lowest price (issue 15)', () => {
  it('rachel: the email and WhatsApp name the same three amounts (she pays €59.46: 15 % off €69.95, down from €79.95)', () => {
    const r = renderMessage(request_('price-drop', 'rachel'), deps);
    expect(r.email!.subject).toBe('Price drop: Merino Rib Knit Top');
    expect(r.email!.text).toContain('Good news: the price dropped');
    expect(r.email!.text).toContain('Merino Rib Knit Top: €59.46 (€69.95)\nLowest price in the last 30 days: €79.95\n');
    expect(r.email!.html).toContain('<span class="sale">€59.46</span> <span class="was">€69.95</span><br /><span class="muted" style="font-size:13px;">Lowest price in the last 30 days: €79.95</span>');
    expect(r.email!.amp).toContain('<div placeholder><p><span class="sale">€59.46</span> <span class="was">€69.95</span></p><p class="muted">Lowest price in the last 30 days: €79.95</p>');
    // Outside the window: the approved template.
    expect(waBody(r)).toBe('Hi Rachel, Merino Rib Knit Top is €59.46 for you (15% off €69.95; lowest price in the last 30 days: €79.95). Want it?');
    expect(everything(r)).not.toContain('€89.95');
  });

  const TRY_PRICE = 'size özel ₺2.974,15 (₺3.499,00 yerine, %15 indirimle; son 30 günün en düşük fiyatı: ₺3.999,00)';
  const SEK_PRICE = nb('653,65 kr för dig (15 % rabatt på 769,00 kr; lägsta pris de senaste 30 dagarna: 879,00 kr)');
  it.each([
    ['emre', 'Merino Rib Knit Top: ₺2.974,15 (₺3.499,00)\nSon 30 günün en düşük fiyatı: ₺3.999,00', `Merhaba Emre, Merino Rib Knit Top fiyatı: ${TRY_PRICE}. İster misiniz?`, TRY_PRICE, '₺4.499,43'],
    ['ayse', 'Merino Rib Knit Top: ₺2.974,15 (₺3.499,00)\nSon 30 günün en düşük fiyatı: ₺3.999,00', `Merhaba Ayşe, Merino Rib Knit Top fiyatı: ${TRY_PRICE}. İster misiniz?`, TRY_PRICE, '₺4.499,43'],
    ['ingrid', nb('Merino Rib Knit Top: 653,65 kr (769,00 kr)\nLägsta pris de senaste 30 dagarna: 879,00 kr'), `Hej Ingrid! Merino Rib Knit Top kostar ${SEK_PRICE}. Vill du ha den i storlek M?`, SEK_PRICE, nb('988,87 kr')],
  ])('%s: WhatsApp says what the email beside it says, in their market', (profile, emailLine, session, price, invented) => {
    const inside = renderMessage(inWindow(request_('price-drop', profile)), deps);
    expect(inside.email!.text).toContain(emailLine);
    expect(waBody(inside)).toBe(session);
    // Outside the window the approved template carries the same price phrase as its variable 3.
    const outside = renderMessage(request_('price-drop', profile), deps);
    expect(JSON.parse((outside.whatsapp as { message: { contentVariables: string } }).message.contentVariables)['3']).toBe(price);
    expect(everything(inside) + everything(outside)).not.toContain(invented);
  });

  it('a VIP (no discount) gets the reduction alone: now €69.95, lowest price in the last 30 days €79.95', () => {
    const r = renderMessage(request_('price-drop', 'sophie'), deps);
    expect(r.email!.text).toContain('Merino Rib Knit Top: €69.95\nLowest price in the last 30 days: €79.95\n');
    expect(waBody(r)).toBe('Hi Sophie, Merino Rib Knit Top is now €69.95 (lowest price in the last 30 days: €79.95). Want it in size S?');
  });
});

describe('no reduction claim without a recorded 30-day history (issue 15)', () => {
  it('price-drop with the message discount: the discount against today\'s price, and no "price dropped", no "was", no lowest price', () => {
    const r = renderMessage(request_('price-drop', 'rachel'), withoutHistory);
    expect(r.email!.subject).toBe('Still thinking about Merino Rib Knit Top?');
    expect(r.email!.preheader).toBe('Something you liked is still available.');
    expect(r.email!.text).toContain('Still thinking about it?');
    expect(r.email!.text).toContain('Merino Rib Knit Top: €59.46 (€69.95)\n');
    expect(waBody(r)).toBe('Hi Rachel, Merino Rib Knit Top is €59.46 for you (15% off €69.95). Want it?');
    const all = everything(r);
    for (const claim of ['price dropped', 'Price drop', 'Lowest price', 'lowest price', '(was', 'costs less', '€89.95', '€79.95']) expect(all).not.toContain(claim);
  });

  it('price-drop without a discount (a VIP): the price alone, though the catalog has a compare-at price for it', () => {
    const r = renderMessage(inWindow(request_('price-drop', 'sophie')), withoutHistory);
    expect(r.email!.text).toContain('Merino Rib Knit Top: €69.95\n');
    expect(r.email!.html).toContain('<span>€69.95</span>');
    expect(waBody(r)).toBe('Hi Sophie, Merino Rib Knit Top is €69.95. Want it in size S?');
    expect(everything(r)).not.toContain('€89.95');
    expect(everything(r)).not.toMatch(/price dropped|lowest price/i);
  });

  it('a reason that says the price dropped is left out, with a warning', () => {
    const r = renderMessage(request_('price-drop', 'rachel'), withoutHistory);
    expect(r.email!.amp).not.toContain('Price dropped on an item you viewed');
    expect(r.warnings).toContain('recommended SKU NL-TOP-002: its reason says the price dropped, but there is no recorded lower price in EUR in the 30 days before; left out');
    // With the history, the same reason is a fact.
    expect(renderMessage(request_('price-drop', 'rachel'), deps).email!.amp).toContain('<p class="muted">Price dropped on an item you viewed</p>');
  });

  it('through the service: the claim appears once the store has recorded 30 days of the higher price, in the email and in /amp/v1/offers', async () => {
    const DAY = 24 * 60 * 60 * 1000;
    const at = (days: number) => new Date(Date.parse(NOW) + days * DAY).toISOString();
    const clock = createManualClock(at(-45));
    const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-claims-'));
    const t = await openTestApp({ store: { dataDir, now: clock.now }, seed: false, dataDir, env: { AMP_ALLOWED_SENDERS: SENDER } });
    try {
      const knit = (price: number, sku = 'T-KNIT-1') => ({ sku, title: 'Alva Knit', price, currency: 'EUR', prices: { SEK: price * 10 }, url: `https://shop.nordlys.example/p/${sku}`, sizes: [{ size: 'M', stock: 5 }] });
      const put = async (days: number, products: object[]) => {
        clock.set(at(days));
        await request(t.app).put('/v1/catalog/products').send(products).expect(200);
      };
      // T-KNIT-1: €80 for 40 days, then €60. T-KNIT-2: first seen 20 days ago at €80, then €60.
      await put(-45, [knit(80)]);
      await put(-20, [knit(80, 'T-KNIT-2')]);
      await put(-5, [knit(60), knit(60, 'T-KNIT-2')]);
      clock.set(NOW);
      const render = async (sku: string) =>
        (await request(t.app).post('/v1/render').send(renderBody('price-drop', 'sophie', undefined, { recommendations: { items: [{ sku }] }, channels: ['email'] })).expect(200)).body;

      const known = await render('T-KNIT-1');
      expect(known.email.subject).toBe('Price drop: Alva Knit');
      expect(known.email.text).toContain('Alva Knit: €60.00\nLowest price in the last 30 days: €80.00\n');
      const offersUrl = ampUrls(known.email.amp as string).lists.find((u) => u.includes('/amp/v1/offers?'))!;
      const offers = await request(t.app).get(pathOf(offersUrl)).set(v2);
      expectAmpAnswer(offers);
      expect(offers.body.items[0]).toMatchObject({ sku: 'T-KNIT-1', priceText: '€60.00', discounted: false, priorPriceText: '€80.00' });

      const tooShort = await render('T-KNIT-2');
      expect(tooShort.email.subject).toBe('Still thinking about Alva Knit?');
      expect(tooShort.email.text).not.toMatch(/lowest price|price dropped|€80\.00/i);
    } finally {
      await t.close();
      removeDir(dataDir);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { renderMessage, UnknownTemplateError } from '../../src/render/render-message.ts';
import { TemplateDataError } from '../../src/render/build-view.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();
const manifest = (name: string) => templates.templates.get(name)!.manifest;
const render = (template: string, profile: string, extra: Record<string, unknown> = {}) =>
  renderMessage({ ...sampleRequest(manifest(template), fixtures, profile, { now: NOW }), ...extra }, deps);

describe('segment-specific content', () => {
  it('a VIP sees early access and no discount, even when the campaign carries one', () => {
    const r = render('price-drop', 'sophie');
    expect(r.segments).toEqual(['vip']);
    expect(r.email!.html).toContain('Early access for our best customers');
    expect(r.email!.html).not.toContain('15% off for you');
    expect(r.email!.text).not.toContain('DROP15');
    expect(r.warnings).toContain('offer withheld: VIP customers get early access, not discounts');
  });

  it('a discount seeker sees the discount first, with the offer price and code', () => {
    const r = render('price-drop', 'rachel');
    const html = r.email!.html.slice(r.email!.html.indexOf('<body'));
    expect(html).toContain('15% off for you');
    expect(html).toContain('Use code DROP15 at checkout');
    expect(html.indexOf('15% off for you')).toBeLessThan(html.indexOf('heading">Merino Rib Knit Top'));
    expect(r.email!.text).toContain('Merino Rib Knit Top: €59.46 (€69.95)');
  });

  it('a lapsed customer gets the win-back block with the usual size pre-selected, in Swedish and kronor', () => {
    const r = render('recommendations', 'ingrid', { recommendations: fixtures.recommendations.get('winback') });
    expect(r.locale).toBe('sv');
    expect(r.email!.html).toContain('Vi saknar dig');
    expect(r.email!.html).toContain('20 % rabatt för dig');
    // Pre-selected in what the email shows before (or without) the live offer; the live one comes from GET /amp/v1/offers.
    expect(r.email!.amp).toMatch(/<span class="size sel">28<\/span>/);
    expect(r.email!.text).toMatch(/kr/);
  });

  it('a new Turkish subscriber reads Turkish with lira and the offer expiry', () => {
    const r = render('recommendations', 'emre', { recommendations: fixtures.recommendations.get('welcome') });
    expect(r.segments).toEqual(['new_subscriber']);
    expect(r.email!.subject).toBe('Emre, sizin için seçtik');
    expect(r.email!.html).toContain('Size özel %10 indirim');
    expect(r.email!.html).toMatch(/Son gün: 24 Kasım 2026/);
    expect(r.email!.text).toMatch(/₺/);
    expect(r.email!.html).toContain('<html lang="tr" dir="ltr"');
  });

  it('sold-out sizes are disabled and never pre-selected, even when they are the preferred size', () => {
    const r = render('recommendations', 'sophie');
    // Sophie buys dresses in S; the wrap dress has only XL left.
    const card = cardFor(r.email!.amp!, 'NL-DRS-003');
    expect(card).toContain('<span class="size off">S</span>');
    expect(card).toContain('<span class="size sel">XL</span>');
    expect(card).not.toMatch(/class="size sel">S</);
    expect(cardFor(r.email!.amp!, 'NL-DRS-001')).toContain('<span class="size sel">S</span>');
  });

  it('falls back to English strings for a locale without strings, and says so', () => {
    const r = render('recommendations', 'sophie', { locale: 'de-DE' });
    expect(r.locale).toBe('en');
    expect(r.warnings).toContain("locale 'de-DE' has no strings; rendered in English");
    expect(r.email!.html).toContain('<html lang="en"');
  });

  it('assigns the same variant to the same profile every time, and honours an explicit one', () => {
    expect(render('recommendations', 'sophie').variant).toBe(render('recommendations', 'sophie').variant);
    expect(render('recommendations', 'sophie', { variant: 'B' }).email!.preheader).toBe('Fjord Linen Shirt · €49.95');
  });

  it('rejects data the template needs: an abandoned cart without a cart', () => {
    const base = sampleRequest(manifest('abandoned-cart'), fixtures, 'sophie', { now: NOW });
    expect(() => renderMessage({ ...base, cart: undefined }, deps)).toThrowError(TemplateDataError);
    try {
      renderMessage({ ...base, cart: undefined }, deps);
    } catch (e) {
      expect((e as TemplateDataError).fields).toEqual([{ path: 'cart', message: "template 'abandoned-cart' needs a cart with at least one available item" }]);
    }
  });

  it('refuses a cart whose lines would be priced in different currencies', () => {
    const base = sampleRequest(manifest('abandoned-cart'), fixtures, 'carl-cart', { now: NOW });
    const dollars = { ...fixtures.catalog.get('NL-ACC-001')!, sku: 'US-ONLY', currency: 'USD', prices: undefined };
    const withUsd = { ...deps, catalog: (sku: string) => (sku === 'US-ONLY' ? dollars : deps.catalog(sku)) };
    const cart = { items: [{ sku: 'NL-TOP-001', size: 'M', quantity: 1 }, { sku: 'US-ONLY', size: 'ONE', quantity: 1 }] };
    expect(() => renderMessage({ ...base, profile: { ...base.profile, cart: undefined }, cart }, withUsd)).toThrowError(/US-ONLY is priced in USD but the cart's other lines in EUR/);
  });

  it('shows the offer price the checkout charges, to the cent (rounded in minor units)', () => {
    // €1.15 less 10% is €1.035: minor-unit rounding charges €1.04, float rounding would show €1.03.
    const cheap = { ...fixtures.catalog.get('NL-ACC-001')!, sku: 'CHEAP', price: 1.15, compareAtPrice: undefined, prices: undefined };
    const r = renderMessage(
      { ...sampleRequest(manifest('price-drop'), fixtures, 'rachel', { now: NOW }), channels: ['email'], recommendations: { items: [cheap], offer: { percentOff: 10 } } },
      deps,
    );
    expect(r.email!.text).toContain('€1.04 (€1.15)');
  });

  it('names an unknown template', () => {
    const base = sampleRequest(manifest('recommendations'), fixtures, 'sophie', { now: NOW });
    expect(() => renderMessage({ ...base, template: 'nope' }, deps)).toThrowError(UnknownTemplateError);
  });

  it('shows the distance to free shipping on the cart', () => {
    const r = render('abandoned-cart', 'carl-cart');
    expect(r.email!.text).toContain('You are €10.10 away from free shipping.');
    expect(r.email!.html).toContain('width="90%"');
  });

  it('does not recommend what is already in the cart (Carl has the Fjord Linen Shirt in his)', () => {
    const r = render('abandoned-cart', 'carl-cart');
    const recommended = (doc: string, title: RegExp) => [...doc.matchAll(title)].map((m) => m[1]);
    const picks = ['Nordlys Midi Slip Dress', 'Strand High-Rise Straight Jeans', 'Saga Leather Ankle Boots'];
    expect(recommended(r.email!.html, /font-size:17px;">([^<]+)</g)).toEqual(picks);
    expect(recommended(r.email!.amp!, /<p class="title">([^<]+)</g)).toEqual(picks);
    expect(r.warnings).toContain('recommended SKU NL-TOP-001 is already in the cart; skipped');
  });

  it('embeds a signed AMP token bound to customer, message and template in every endpoint URL', () => {
    const r = render('recommendations', 'sophie', { context: { now: NOW, messageId: 'msg-42', campaignId: 'xmas' } });
    const m = /action-xhr="https:\/\/mail\.nordlys\.example\/amp\/v1\/checkout\?token=([^"]+)"/.exec(r.email!.amp!.replaceAll('&#x3D;', '='));
    expect(m).not.toBeNull();
    const token = decodeURIComponent(m![1]!);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'cust-sophie', msg: 'msg-42', cmp: 'xmas', tpl: 'recommendations' });
    expect(claims.exp).toBe(Date.parse(NOW) / 1000 + 30 * 86_400);
  });
});

describe('recommendation reasons in the message language only', () => {
  // What each part shows under the products: HTML spans, AMP paragraphs.
  const reasons = (r: ReturnType<typeof render>) => ({
    html: [...r.email!.html.matchAll(/<span class="muted" style="font-size:13px;">([^<]+)<\/span>/g)].map((m) => m[1]),
    amp: [...r.email!.amp!.matchAll(/<p class="title">[^<]*<\/p>\n<p class="muted">([^<]+)<\/p>/g)].map((m) => m[1]),
  });
  const withItems = (items: unknown[], extra: Record<string, unknown> = {}) => ({ recommendations: { items, ...extra } });

  it('a reason key reads in the locale of the message (Ingrid reads Swedish)', () => {
    const r = render('recommendations', 'ingrid', { recommendations: fixtures.recommendations.get('winback') });
    const swedish = ['Din favoritpassform finns i lager igen', 'Ny tvätt bland jeans', 'Nytt bland toppar', 'Klä dig i lager inför vintern'];
    expect(reasons(r)).toEqual({ html: swedish, amp: swedish });
  });

  it('plain English text is left out of a Turkish or Swedish email, and shown in an English one', () => {
    const items = [{ sku: 'NL-TOP-001', reason: 'Trending now' }, { sku: 'NL-JNS-001', reason: { key: 'reason.bestsellerJeans' } }];
    const tr = render('recommendations', 'emre', withItems(items));
    expect(reasons(tr)).toEqual({ html: ['Kotlarda en çok satan'], amp: ['Kotlarda en çok satan'] });
    expect(tr.warnings).toContain("recommended SKU NL-TOP-001: its reason is not given in 'tr'; left out");
    expect(reasons(render('recommendations', 'sophie', withItems(items))).html).toEqual(['Trending now', 'Bestseller in jeans']);
    // Text declared Swedish shows in Swedish emails only.
    const sv = withItems([{ sku: 'NL-TOP-001', reason: 'Populärt just nu' }], { reasonLocale: 'sv' });
    expect(reasons(render('recommendations', 'ingrid', sv)).html).toEqual(['Populärt just nu']);
    expect(reasons(render('recommendations', 'sophie', sv)).html).toEqual([]);
  });

  it('text per language shows the message language, and nothing when that language is missing', () => {
    const items = [{ sku: 'NL-TOP-001', reason: { en: 'Our pick', sv: 'Vårt val' } }];
    expect(reasons(render('recommendations', 'ingrid', withItems(items))).html).toEqual(['Vårt val']);
    expect(reasons(render('recommendations', 'sophie', withItems(items))).html).toEqual(['Our pick']);
    expect(reasons(render('recommendations', 'emre', withItems(items))).html).toEqual([]);
  });

  it('a key without a string in the locale files is left out', () => {
    const r = render('recommendations', 'sophie', withItems([{ sku: 'NL-TOP-001', reason: { key: 'reason.noSuchReason' } }]));
    expect(reasons(r).html).toEqual([]);
    expect(r.warnings).toContain("recommended SKU NL-TOP-001: its reason is not given in 'en'; left out");
  });
});

function cardFor(amp: string, sku: string): string {
  const cards = amp.split('<div class="card">');
  const card = cards.find((c) => c.includes(`name="sku" value="${sku}"`));
  if (!card) throw new Error(`no card for ${sku}`);
  return card;
}

describe('locale strings baked in at compile time', () => {
  it('a string missing in Turkish falls back to English with a warning', async () => {
    const { cpSync, mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadTemplateSet } = await import('../../src/templates/template-registry.ts');
    const { TEMPLATES_DIR } = await import('../support/render-kit.ts');
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-tr-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'locales', 'tr.json');
    const tr = JSON.parse(readFileSync(file, 'utf8'));
    delete tr.product.buyNow;
    writeFileSync(file, JSON.stringify(tr));
    const set = await loadTemplateSet({ root });
    const r = renderMessage({ ...sampleRequest(manifest('price-drop'), fixtures, 'emre', { now: NOW }), channels: ['email'] }, { ...deps, templates: set });
    expect(r.locale).toBe('tr');
    expect(r.warnings).toContain("locale string 'product.buyNow' is missing in 'tr'; used English");
    expect(r.email!.amp).toContain('>Buy now</button>');
    expect(r.email!.html).toContain('Fiyat düştü');
  });
});

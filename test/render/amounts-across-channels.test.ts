import Handlebars from 'handlebars';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toMinor } from '../../src/commerce/money.ts';
import { priceOrder } from '../../src/shop/price-order.ts';
import { priorPriceMinor } from '../../src/commerce/reference-price.ts';
import type { CatalogProduct } from '../../src/store/index.ts';
import { loadFixtures, sampleRequest } from '../../src/validate/template-fixtures.ts';
import { decodeEntities, expectAmpAnswer, pathOf, SENDER, v2 } from '../amp/amp-kit.ts';
import { FIXED_NOW, FIXTURES, useTestApp, type TestApp } from '../http/helpers.ts';
import { amountsIn, moneyText } from '../support/money-strings.ts';

/**
 * Every amount a customer sees, in every part of every template, for every fixture profile in
 * every locale, is a fact: a catalog price in their market (what checkout charges), the offer
 * price computed from it, the shop's compare-at price for that market, the recorded 30-day
 * prior price, or a sum of these (cart, order, look). And a product's amounts are the same
 * strings everywhere: the text part and WhatsApp (session and approved template) show no
 * amount the HTML does not, and what `/amp/v1/offers` answers for the message's token, laid
 * out by the AMP part's own amp-mustache template, shows exactly the amounts the placeholder
 * the email was rendered with shows.
 *
 * Run through the service (POST /v1/render, GET /amp/v1/offers) on the sample catalog as the
 * service seeds it, with its price history.
 */
let t: TestApp;
useTestApp({ env: { AMP_ALLOWED_SENDERS: SENDER } }, (app) => (t = app));

const fixtures = loadFixtures(FIXTURES);
const LOCALES = ['en', 'tr', 'sv'] as const;
const TEMPLATES = ['abandoned-cart', 'back-in-stock', 'birthday-reward', 'order-confirmation', 'price-drop', 'recommendations', 'shop-the-look', 'skin-quiz', 'vip-early-access', 'welcome-offer', 'win-back'];

type Allowed = Map<string, Set<bigint>>;

function allow(allowed: Allowed, currency: string, minor: number | bigint): void {
  let set = allowed.get(currency);
  if (!set) allowed.set(currency, (set = new Set()));
  set.add(BigInt(minor));
}

/** The amounts this message may show, from the catalog, the recorded history, checkout and the request. */
async function factsOf(body: ReturnType<typeof sampleRequest>, maxItems: number): Promise<Allowed> {
  const allowed: Allowed = new Map();
  const currency = body.profile.currency;
  const cart = body.cart ?? body.profile.cart;
  const picks = body.recommendations?.items ?? [];
  const skus = [...new Set([...picks.map((i) => i.sku), ...(cart?.items.map((i) => i.sku) ?? [])])];
  const catalog = new Map((await t.store.products.getMany(skus)).map((p) => [p.sku, p]));
  const references = await t.store.products.referencePricesAt(skus);
  const percentOff = body.recommendations?.offer?.percentOff;
  const charged = (p: CatalogProduct, offer?: number) => {
    const size = p.sizes.find((s) => s.stock > 0)?.size ?? p.sizes[0]!.size;
    const priced = priceOrder([{ ...p, sizes: p.sizes.map((s) => ({ ...s, stock: Math.max(s.stock, 1) })) }], [{ sku: p.sku, size, quantity: 1 }], currency, offer ? { percentOff: offer, skus: new Set([p.sku]) } : undefined);
    if (!priced.ok) throw new Error(priced.message);
    return { currency: priced.currency, minor: priced.totalMinor };
  };
  for (const p of catalog.values()) {
    const list = charged(p);
    allow(allowed, list.currency, list.minor);
    if (percentOff) allow(allowed, list.currency, charged(p, percentOff).minor);
    const compareAt = p.compareAtPrices?.[list.currency] ?? (list.currency === p.currency ? p.compareAtPrice : undefined);
    if (compareAt !== undefined) allow(allowed, list.currency, toMinor(compareAt, list.currency));
    const prior = priorPriceMinor(references.get(p.sku)?.[list.currency]);
    if (prior !== undefined) allow(allowed, list.currency, prior);
  }
  if (cart) {
    let subtotal = 0n;
    let cartCurrency = currency;
    for (const line of cart.items) {
      const p = catalog.get(line.sku);
      if (!p) continue;
      const list = charged(p);
      cartCurrency = list.currency;
      allow(allowed, list.currency, BigInt(list.minor) * BigInt(line.quantity));
      subtotal += BigInt(list.minor) * BigInt(line.quantity);
    }
    allow(allowed, cartCurrency, subtotal);
    const threshold = t.templates.shared.brand.freeShippingThreshold[cartCurrency];
    if (threshold !== undefined) {
      const thresholdMinor = BigInt(toMinor(threshold, cartCurrency));
      allow(allowed, cartCurrency, thresholdMinor);
      allow(allowed, cartCurrency, thresholdMinor > subtotal ? thresholdMinor - subtotal : 0n);
    }
  }
  // A look's total: the list prices of the products shown (in stock, not in the cart, the first maxItems).
  const shown = picks.map((i) => catalog.get(i.sku)).filter((p): p is CatalogProduct => !!p && p.sizes.some((s) => s.stock > 0) && !cart?.items.some((l) => l.sku === p.sku)).slice(0, maxItems);
  if (shown.length) allow(allowed, charged(shown[0]!).currency, shown.reduce((sum, p) => sum + BigInt(charged(p).minor), 0n));
  if (body.order) {
    allow(allowed, body.order.currency, toMinor(body.order.total, body.order.currency));
    for (const l of body.order.lines) allow(allowed, body.order.currency, toMinor(l.unitPrice, body.order.currency));
  }
  return allowed;
}

/** Every amount in `text`, in any of the currencies the message may show. */
function amounts(text: string, allowed: Allowed, intlLocale: string): string[] {
  return [...allowed.keys()].flatMap((currency) => amountsIn(text, currency, intlLocale));
}

function allowedTexts(allowed: Allowed, intlLocale: string): Set<string> {
  return new Set([...allowed].flatMap(([currency, minors]) => [...minors].map((m) => moneyText(m, currency, intlLocale))));
}

interface WhatsAppPreview {
  body: string;
  list?: { items: { item: string; description?: string }[] };
  buttons?: { title: string }[];
}

function whatsappText(wa: { suppressed: boolean; preview?: WhatsAppPreview } | undefined): string {
  if (!wa || wa.suppressed || !wa.preview) return '';
  return [wa.preview.body, ...(wa.preview.list?.items.map((i) => `${i.item} ${i.description ?? ''}`) ?? []), ...(wa.preview.buttons?.map((b) => b.title) ?? [])].join('\n');
}

/** Each offers amp-list of an AMP part: the item it shows, its placeholder and its amp-mustache template. */
function offerLists(amp: string): { src: string; index: number; placeholder: string; template: string }[] {
  return [...amp.matchAll(/<amp-list src="([^"]*\/amp\/v1\/offers\?[^"]*)" items="items\.(\d+)" single-item[^>]*>([\s\S]*?)<\/amp-list>/g)].map((m) => ({
    src: decodeEntities(m[1]!),
    index: Number(m[2]),
    placeholder: /<div placeholder>([\s\S]*?)<\/div>\s*<div fallback>/.exec(m[3]!)![1]!,
    template: /<template type="amp-mustache">([\s\S]*?)<\/template>/.exec(m[3]!)![1]!,
  }));
}

const sorted = (xs: string[]) => [...xs].sort();

describe.each(TEMPLATES)('%s: every amount a customer sees is a fact, and the same string in every part', (template) => {
  it.each([...fixtures.profiles.keys()])('for %s, in en, tr and sv', async (profileName) => {
    const manifest = t.templates.templates.get(template)!.manifest;
    for (const locale of LOCALES) {
      const base = sampleRequest(manifest, fixtures, profileName, { locale, now: FIXED_NOW });
      // Every profile reachable on WhatsApp, inside the 24-hour window and outside it.
      const reachable = { ...base.profile, phone: base.profile.phone ?? '+46700000042', consent: { ...base.profile.consent, whatsapp: true } };
      const open = { ...reachable, whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' } };
      const closed = { ...reachable, whatsapp: { lastInboundAt: '2026-11-01T09:00:00Z' } };
      const res = await request(t.app).post('/v1/render').send({ ...base, profile: open });
      if (res.status === 400) continue; // the fixture does not fit the template (e.g. no cart): nothing is shown
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const outside = await request(t.app).post('/v1/render').send({ ...base, profile: closed, channels: manifest.channels.includes('whatsapp') ? ['whatsapp'] : undefined });
      expect(outside.status).toBe(200);

      const where = `${template}/${profileName}/${locale}`;
      const allowed = await factsOf(base, manifest.data.recommendations?.maxItems ?? 8);
      const facts = allowedTexts(allowed, locale);
      const email = res.body.email as { html: string; amp?: string; text: string };
      const parts: Record<string, string> = {
        html: email.html,
        amp: email.amp ?? '',
        text: email.text,
        'whatsapp session': whatsappText(res.body.whatsapp),
        'whatsapp template': manifest.channels.includes('whatsapp') ? whatsappText(outside.body.whatsapp) : '',
      };
      const inHtml = new Set(amounts(email.html, allowed, locale));
      expect(inHtml.size, `${where}: the HTML part shows no amount`).toBeGreaterThan(0);
      for (const [part, text] of Object.entries(parts)) {
        for (const amount of amounts(text, allowed, locale)) {
          expect(facts.has(amount), `${where} ${part}: ${amount} is not a catalog, offer, compare-at, recorded or summed price (${[...facts].join(', ')})`).toBe(true);
          expect(inHtml.has(amount), `${where} ${part}: ${amount} is not in the HTML part (${[...inHtml].join(', ')})`).toBe(true);
        }
      }

      // The AMP email opened: each live card shows the amounts its placeholder showed.
      for (const list of offerLists(email.amp ?? '')) {
        const offers = await request(t.app).get(pathOf(list.src)).set(v2);
        expectAmpAnswer(offers);
        expect(offers.status).toBe(200);
        // amp-mustache is a subset of Handlebars' Mustache: compat mode resolves names up the context as Mustache does.
        const live = Handlebars.compile(list.template, { compat: true })(offers.body.items[list.index]);
        expect(sorted(amounts(live, allowed, locale)), `${where} AMP card ${list.index}: live answer vs placeholder`).toEqual(sorted(amounts(list.placeholder, allowed, locale)));
      }
    }
  });
});

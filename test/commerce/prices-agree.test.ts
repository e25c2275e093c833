import fc from 'fast-check';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toMinor } from '../../src/commerce/money.ts';
import { ampUrls, expectAmpAnswer, pathOf, SENDER, v2 } from '../amp/amp-kit.ts';
import { FIXED_NOW, useTestApp, type TestApp } from '../http/helpers.ts';
import { moneyText } from '../support/money-strings.ts';

/**
 * One price, every way a customer meets it: for arbitrary catalog prices in currencies with
 * 2, 0 and 3 minor digits, arbitrary message discounts and quantities, the amount the render
 * shows (email HTML, AMP placeholder, text, WhatsApp), the amount `/amp/v1/offers` answers when
 * the email is opened and the amount the checkout charges are the same, and equal to an
 * oracle computed here in BigInt (the percentage off rounded half up to the minor unit).
 */
let t: TestApp;
useTestApp({ seed: false, env: { AMP_ALLOWED_SENDERS: SENDER } }, (app) => (t = app));

const CURRENCIES = ['EUR', 'SEK', 'TRY', 'JPY', 'KWD'] as const;
const DIGITS: Record<(typeof CURRENCIES)[number], number> = { EUR: 2, SEK: 2, TRY: 2, JPY: 0, KWD: 3 };

/** The catalog's decimal amount for minor units (the API takes decimals): parsed from its text. */
function decimal(minor: number | bigint, currency: (typeof CURRENCIES)[number]): number {
  const digits = DIGITS[currency];
  const text = String(minor).padStart(digits + 1, '0');
  return Number(digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`);
}

describe('render, /amp/v1/offers and checkout agree on every price (property)', () => {
  it('for every currency, price, discount, quantity and locale', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CURRENCIES),
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.option(fc.integer({ min: 1, max: 90 }), { nil: undefined }),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom('en', 'tr', 'sv'),
        async (currency, marketMinor, baseMinor, percentOff, cartQuantity, quantity, locale) => {
          run++;
          const sku = `PROP-${run}`;
          // A market price in the customer's currency, or (EUR) the base price itself.
          const listMinor = currency === 'EUR' ? baseMinor : marketMinor;
          const put = await request(t.app)
            .put('/v1/catalog/products')
            .send([
              {
                sku,
                title: `Property Knit ${run}`,
                price: decimal(baseMinor, 'EUR'),
                currency: 'EUR',
                ...(currency === 'EUR' ? {} : { prices: { [currency]: decimal(marketMinor, currency) } }),
                url: `https://shop.nordlys.example/p/${sku}`,
                image: `https://cdn.nordlys.example/img/${sku}.jpg`,
                sizes: [{ size: 'ONE', stock: 1000 }],
              },
            ]);
          expect(put.status, JSON.stringify(put.body)).toBe(200);

          const unitMinor = percentOff === undefined ? BigInt(listMinor) : (BigInt(listMinor) * BigInt(100 - percentOff) + 50n) / 100n;
          const shown = moneyText(unitMinor, currency, locale);
          // 1 % off ¥49 takes nothing off: then no reduction is shown anywhere.
          const discounted = unitMinor < BigInt(listMinor);
          const list = moneyText(listMinor, currency, locale);

          const rendered = await request(t.app)
            .post('/v1/render')
            .send({
              template: 'recommendations',
              profile: {
                id: `cust-prop-${run}`,
                firstName: 'Prop',
                locale,
                currency,
                phone: '+46700000001',
                consent: { email: true, whatsapp: true },
                // Inside the 24-hour window: the session list shows each product's price.
                whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' },
              },
              recommendations: { items: [{ sku }], ...(percentOff === undefined ? {} : { offer: { percentOff } }) },
              context: { now: FIXED_NOW, messageId: `m-prop-${run}` },
            });
          expect(rendered.status, JSON.stringify(rendered.body)).toBe(200);
          const email = rendered.body.email as { html: string; amp: string; text: string };
          expect(email.text).toContain(discounted ? `— ${shown} (${list})` : `— ${shown}\n`);
          expect(email.html).toContain(shown);
          expect(email.amp).toContain(`<div placeholder><p><span${discounted ? ' class="sale"' : ''}>${shown}</span>`);
          expect(rendered.body.whatsapp.preview.list.items[0].description).toContain(shown);

          // The email opened: what amp-list fetches.
          const offersUrl = ampUrls(email.amp).lists.find((u) => u.includes('/amp/v1/offers?'))!;
          const offers = await request(t.app).get(pathOf(offersUrl)).set(v2);
          expectAmpAnswer(offers);
          expect(offers.body.items[0]).toMatchObject({
            sku,
            currency,
            priceText: shown,
            price: decimal(unitMinor, currency),
            discounted,
            ...(discounted ? { wasText: list, discountPercent: percentOff } : {}),
          });

          // The live cart (up to 99 of a line) and "Buy now" (up to 10), both priced by the one
          // checkout's rules; without an address on file the customer finishes in the shop with this total.
          const { forms } = ampUrls(email.amp);
          const token = new URL(forms[0]!).searchParams.get('token')!;
          const cart = await request(t.app).post(`/amp/v1/cart?token=${encodeURIComponent(token)}`).set(v2).type('form').send({ sku, size: 'ONE', quantity: String(cartQuantity), action: 'set' });
          expectAmpAnswer(cart);
          expect(cart.body.line).toMatchObject({ unitPriceText: shown, lineTotalText: moneyText(unitMinor * BigInt(cartQuantity), currency, locale) });
          const checkoutUrl = forms.find((u) => u.includes('/amp/v1/checkout?'))!;
          const bought = await request(t.app).post(pathOf(checkoutUrl)).set(v2).type('form').send({ sku, size: 'ONE', quantity: String(quantity) });
          expectAmpAnswer(bought);
          expect(bought.body).toMatchObject({ status: 'continue_in_shop', currency, totalText: moneyText(unitMinor * BigInt(quantity), currency, locale) });
          expect(BigInt(toMinor(bought.body.total as number, currency))).toBe(unitMinor * BigInt(quantity));
        },
      ),
      { numRuns: 150 },
    );
  }, 180_000);
});

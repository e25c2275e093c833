import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import { signClickToken, verifyClickToken } from '../../src/commerce/click-token.ts';
import { assignVariant } from '../../src/personalize/assign-variant.ts';
import { AMP_ENV, ampUrls, decodeEntities, pathOf, v2 } from '../amp/amp-kit.ts';
import { picks } from '../http/helpers.ts';
import { BACKENDS } from '../store/backends.ts';
import { parseEml } from '../support/parse-eml.ts';
import { testClock } from '../support/test-clock.ts';
import { choiceIds, openWhatsAppApp, PHONES, PUBLIC_BASE_URL, type WhatsAppTestApp } from '../whatsapp/helpers.ts';

const CAMPAIGN = 'spring-ab';
/** assignVariant splits these over A and B (checked below): Sophie and Rachel get A, Emre B. */
const AUDIENCE = ['cust-sophie', 'cust-emre', 'cust-rachel'];

describe.each(BACKENDS)('campaign results: an A/B campaign, an order in the AMP email and one in WhatsApp (%s)', (backend) => {
  let t: WhatsAppTestApp;
  let outputDir: string;
  const campaigns = () => t.app.locals.campaigns as Campaigns;

  beforeAll(async () => {
    outputDir = join(mkdtempSync(join(tmpdir(), 'inboxcart-results-')), 'out');
    t = await openWhatsAppApp(backend, { sync: true, env: { ...AMP_ENV, OUTPUT_DIR: outputDir, QUIET_HOURS: 'off', FREQUENCY_CAP: 'off' } });
  });
  afterAll(async () => {
    await campaigns()?.close();
    await t?.close();
  });

  it('counts rendered messages, opens, clicks, cart adds and both orders under the right variant', async () => {
    expect(AUDIENCE.map((id) => assignVariant(id, 'recommendations', [{ id: 'A', weight: 1 }, { id: 'B', weight: 1 }]))).toEqual(['A', 'B', 'A']);
    // Emre wrote to the shop an hour ago: the campaign's WhatsApp message may be a session message.
    await t.say(PHONES.emre, 'merhaba');

    await request(t.app)
      .post('/v1/campaigns')
      .send({ id: CAMPAIGN, template: 'recommendations', variants: ['A', 'B'], audience: { customerIds: AUDIENCE }, channels: ['email', 'whatsapp'], recommendations: picks('new-arrivals') })
      .expect(201);
    await (campaigns().runner as EmbeddedRunner).drain();
    expect((await request(t.app).get(`/v1/campaigns/${CAMPAIGN}`).expect(200)).body).toMatchObject({ status: 'completed', delivered: 6 });

    // Before anyone acts: three messages rendered, nothing else.
    const empty = await request(t.app).get(`/v1/reports/campaigns/${CAMPAIGN}`).expect(200);
    expect(empty.body.variants.map((v: { variant: string; messagesRendered: number; opens: number; orders: number }) => [v.variant, v.messagesRendered, v.opens, v.orders])).toEqual([
      ['A', 2, 0, 0],
      ['B', 1, 0, 0],
    ]);

    // --- Sophie (A) in the AMP email the campaign sent ---
    const eml = readdirSync(outputDir)
      .map((f) => parseEml(readFileSync(join(outputDir, f), 'utf8')))
      .find((m) => m.headers.get('to')?.includes('sophie.turner@example.com'))!;
    const amp = eml.parts.find((p) => p.headers.get('content-type')?.startsWith('text/x-amp-html'))!.body;
    const html = eml.parts.find((p) => p.headers.get('content-type')?.startsWith('text/html'))!.body;
    const { lists, forms } = ampUrls(amp);
    const offersPath = pathOf(lists.find((u) => u.includes('/amp/v1/offers?'))!);
    // Two opens of one message: two fetches of its live offers.
    const offers = await request(t.app).get(offersPath).set(v2).expect(200);
    await request(t.app).get(offersPath).set(v2).expect(200);
    // The offers' product links are tracked too, and name the variant.
    const first = offers.body.items[0] as { sku: string; url: string; sizes: { size: string; inStock: boolean }[] };
    expect(first.url.startsWith(`${PUBLIC_BASE_URL}/c/`)).toBe(true);
    const offerClick = verifyClickToken(decodeURIComponent(first.url.slice(`${PUBLIC_BASE_URL}/c/`.length)), t.config.tokenKeys, testClock.now());
    expect(offerClick).toMatchObject({ ok: true, link: { campaignId: CAMPAIGN, messageId: expect.stringMatching(/^spring-ab\.\d+$/), variant: 'A', customerId: 'cust-sophie', sku: first.sku } });

    // One click on a product link of the HTML part: recorded, then 302 to the product page.
    const tracked = [...html.matchAll(/href="(https:\/\/mail\.example\.com\/c\/[^"]+)"/g)].map((m) => decodeEntities(m[1]!));
    expect(tracked.length).toBeGreaterThan(0);
    const click = await request(t.app).get(new URL(tracked[0]!).pathname).expect(302);
    expect(click.headers.location).toMatch(/^https:\/\/shop\.nordlys\.example\/.*utm_source=inboxcart&utm_medium=email&utm_campaign=spring-ab&utm_content=recommendations-A/);

    // One cart add, then a purchase of one unit from the email.
    const size = first.sizes.find((s) => s.inStock)!.size;
    // The endpoints take the message's one token (the email's forms use the same).
    const cartPath = offersPath.replace('/amp/v1/offers?', '/amp/v1/cart?');
    await request(t.app).post(cartPath).set(v2).type('form').send({ action: 'add', sku: first.sku, size, quantity: '1' }).expect(200);
    expect(forms.some((u) => pathOf(u) === offersPath.replace('/amp/v1/offers?', '/amp/v1/checkout?'))).toBe(true);
    const checkoutPath = offersPath.replace('/amp/v1/offers?', '/amp/v1/checkout?');
    const placed = await request(t.app).post(checkoutPath).set(v2).type('form').send({ from: 'item', sku: first.sku, size, quantity: '1' });
    expect(placed.status, JSON.stringify(placed.body)).toBe(200);
    const [emailOrder] = await t.store.orders.listByCustomer('cust-sophie');
    expect(emailOrder).toMatchObject({ channel: 'email', campaignId: CAMPAIGN, currency: 'EUR' });

    // --- Emre (B) in the WhatsApp message the campaign sent ---
    const sent = t.twilio.sent.filter((m) => m.To === `whatsapp:${PHONES.emre}`);
    const campaignMessage = sent[sent.length - 1]!;
    const rows = choiceIds(campaignMessage, 'list-picker');
    expect(rows.length).toBeGreaterThan(0);
    let before = t.twilio.sent.length;
    await t.tap(PHONES.emre, rows[0]!, 'ListId');
    // size (when the product has sizes) → quantity → confirm: the first choice each time, "yes" last.
    for (let step = 0; step < 4 && (await t.store.orders.listByCustomer('cust-emre')).length === 0; step++) {
      const [reply] = (await t.twilio.waitForSent(before + 1)).slice(-1);
      before = t.twilio.sent.length;
      // Sizes come as a list (its variable 2 is the button label), quantity and confirmation as buttons.
      const buttons = reply!.ContentVariables?.['2']?.includes('~');
      if (buttons) await t.tap(PHONES.emre, choiceIds(reply!, 'quick-reply')[0]!);
      else await t.tap(PHONES.emre, choiceIds(reply!, 'list-picker')[0]!, 'ListId');
    }
    const [chatOrder] = await t.store.orders.listByCustomer('cust-emre');
    expect(chatOrder).toMatchObject({ channel: 'whatsapp', messageId: expect.stringMatching(/^spring-ab\.\d+$/), currency: 'TRY' });
    const chatUnits = chatOrder!.lines.reduce((n, l) => n + l.quantity, 0);

    // --- The report ---
    const res = await request(t.app).get(`/v1/reports/campaigns/${CAMPAIGN}`).expect(200);
    expect(res.body).toEqual({
      campaignId: CAMPAIGN,
      template: 'recommendations',
      status: 'completed',
      variants: [
        {
          variant: 'A',
          messagesRendered: 2,
          opens: 2,
          uniqueOpens: 1,
          clicks: 1,
          uniqueClicks: 1,
          cartAdds: 1,
          cartAddUnits: 1,
          orders: 1,
          units: 1,
          revenue: [{ currency: 'EUR', amount: emailOrder!.totalMinor / 100, amountMinor: emailOrder!.totalMinor, orders: 1 }],
          conversions: 1,
          conversionRate: 0.5,
        },
        {
          variant: 'B',
          messagesRendered: 1,
          opens: 0,
          uniqueOpens: 0,
          clicks: 0,
          uniqueClicks: 0,
          cartAdds: 0,
          cartAddUnits: 0,
          orders: 1,
          units: chatUnits,
          revenue: [{ currency: 'TRY', amount: chatOrder!.totalMinor / 100, amountMinor: chatOrder!.totalMinor, orders: 1 }],
          conversions: 1,
          conversionRate: 1,
        },
      ],
      abTest: {
        control: 'A',
        treatment: 'B',
        difference: 0.5,
        // √(0.5·0.5/2 + 1·0/1) = √0.125
        standardError: Math.sqrt(0.125),
        confidenceLevel: 0.95,
        low: 0.5 - 1.959963984540054 * Math.sqrt(0.125),
        high: 0.5 + 1.959963984540054 * Math.sqrt(0.125),
        reliable: false,
        method: expect.stringContaining('Wald'),
      },
    });

    // A cancelled order no longer counts as a sale.
    await request(t.app).post(`/v1/orders/${chatOrder!.id}/status`).send({ status: 'cancelled' }).expect(200);
    const after = await request(t.app).get(`/v1/reports/campaigns/${CAMPAIGN}`).expect(200);
    expect(after.body.variants[1]).toMatchObject({ variant: 'B', orders: 0, units: 0, revenue: [], conversions: 0, conversionRate: 0 });
  });

  it('answers 404 for an unknown campaign and 400 naming campaignId for a malformed one', async () => {
    const unknown = await request(t.app).get('/v1/reports/campaigns/nope').expect(404);
    expect(unknown.body.error.code).toBe('unknown_campaign');
    const bad = await request(t.app).get(`/v1/reports/campaigns/${'x'.repeat(101)}`).expect(400);
    expect(bad.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['campaignId']);
  });

  it('a tampered click token is a 400 and counts nothing; a link to a foreign host goes to the shop instead', async () => {
    const link = { campaignId: CAMPAIGN, messageId: `${CAMPAIGN}.0`, variant: 'A', customerId: 'cust-sophie', sku: 'NL-DRS-001' };
    const good = signClickToken({ ...link, url: 'https://shop.nordlys.example/products/nordlys-midi-slip-dress' }, testClock.now(), t.config.tokenKeys);
    const [kid, payload, sig] = good.split('.');
    const evil = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), u: 'https://evil.example/phish' })).toString('base64url');
    const clicksBefore = await clickCount();
    const tampered = await request(t.app).get(`/c/${kid}.${evil}.${sig}`).expect(400);
    expect(tampered.body.error.code).toBe('invalid_token');
    expect(tampered.headers.location).toBeUndefined();
    expect(await clickCount()).toBe(clicksBefore);

    // Signed, but pointing off the catalog product and the shop (a leaked key, a bad catalog URL): never followed.
    const foreign = signClickToken({ ...link, url: 'https://evil.example/phish' }, testClock.now(), t.config.tokenKeys);
    const res = await request(t.app).get(`/c/${foreign}`).expect(302);
    expect(res.headers.location).toBe('https://shop.nordlys.example/');
  });

  it('renders without a campaign context keep direct product links; with campaign and message ids they are tracked', async () => {
    const body = { template: 'recommendations', profile: { id: 'cust-sophie', firstName: 'Sophie', email: 's@example.com', locale: 'en', currency: 'EUR', consent: { email: true } }, recommendations: picks('new-arrivals'), channels: ['email'], context: { now: testClock.now().toISOString(), messageId: 'm-plain' } };
    const plain = await request(t.app).post('/v1/render').send(body).expect(200);
    expect(plain.body.email.html).not.toContain(`${PUBLIC_BASE_URL}/c/`);
    expect(decodeEntities(plain.body.email.html)).toContain('https://shop.nordlys.example/p/NL-DRS-001?utm_source=inboxcart&utm_medium=email&utm_campaign=recommendations&utm_content=recommendations-A');
    // A campaign id alone names no message to count the click for.
    const campaignOnly = await request(t.app).post('/v1/render').send({ ...body, context: { ...body.context, messageId: undefined, campaignId: 'esp-1' } }).expect(200);
    expect(campaignOnly.body.email.html).not.toContain(`${PUBLIC_BASE_URL}/c/`);
    const withCampaign = await request(t.app).post('/v1/render').send({ ...body, context: { ...body.context, campaignId: 'esp-1' } }).expect(200);
    const links = [...decodeEntities(withCampaign.body.email.html).matchAll(/href="(https:\/\/mail\.example\.com\/c\/[^"]+)"/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    const verdict = verifyClickToken(links[0]!.slice(`${PUBLIC_BASE_URL}/c/`.length), t.config.tokenKeys, testClock.now());
    expect(verdict).toEqual({ ok: true, link: { campaignId: 'esp-1', messageId: 'm-plain', variant: 'A', customerId: 'cust-sophie', sku: 'NL-DRS-001', url: 'https://shop.nordlys.example/p/NL-DRS-001?utm_source=inboxcart&utm_medium=email&utm_campaign=esp-1&utm_content=recommendations-A' } });
  });

  async function clickCount(): Promise<number> {
    const rows = await t.store.db.withTables<{ campaign_events: { kind: string } }>().selectFrom('campaign_events').select('kind').where('kind', '=', 'click').execute();
    return rows.length;
  }
});

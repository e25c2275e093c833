import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { signUnsubscribeToken } from '../../src/commerce/unsubscribe-token.ts';
import { renderBody, useTestApp, type TestApp } from './helpers.ts';

let t: TestApp;
useTestApp({ env: { BATCH_THREADS: '1' } }, (app) => (t = app));

const BASE = 'https://mail.example.com';

/** Renders a fixture profile's marketing email (with a profile id of the test's own) and returns its unsubscribe URL path. */
async function unsubscribeLink(customerId: string, profileName = 'ingrid', locale?: string): Promise<{ path: string; body: Record<string, unknown> }> {
  const body = renderBody('recommendations', profileName, 'picks-8', { channels: ['email'], ...(locale ? { locale } : {}) });
  body.profile = { ...body.profile, id: customerId };
  const res = await request(t.app).post('/v1/render').send(body).expect(200);
  const header = res.body.email.headers['List-Unsubscribe'] as string;
  const url = /^<(.+)>$/.exec(header)![1]!;
  expect(url.startsWith(`${BASE}/u/`)).toBe(true);
  return { path: url.slice(BASE.length), body };
}

function tokenOf(path: string): string {
  return path.slice('/u/'.length);
}

describe('per-recipient unsubscribe links', () => {
  it('puts the same signed link in List-Unsubscribe, the HTML footer, the AMP footer and the text part', async () => {
    const res = await request(t.app).post('/v1/render').send(renderBody('recommendations', 'ingrid', 'picks-8', { channels: ['email'] })).expect(200);
    const email = res.body.email;
    expect(email.headers).toEqual({ 'List-Unsubscribe': expect.stringMatching(/^<https:\/\/mail\.example\.com\/u\/[\w-]+\.[\w-]+\.[\w-]+>$/), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });
    const url = (email.headers['List-Unsubscribe'] as string).slice(1, -1);
    expect(email.html).toContain(`href="${url}"`);
    expect(email.amp).toContain(`href="${url}"`);
    expect(email.text).toContain(url);
    expect(email.html).not.toContain('shop.nordlys.example/unsubscribe');
  });

  it('gives each recipient their own link', async () => {
    const a = await unsubscribeLink('cust-unsub-a');
    const b = await unsubscribeLink('cust-unsub-b');
    expect(a.path).not.toBe(b.path);
  });

  it('GET shows a localized confirmation with a button that POSTs, and unsubscribes no one', async () => {
    const { path } = await unsubscribeLink('cust-unsub-get', 'ingrid', 'sv');
    const res = await request(t.app).get(path).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.text).toContain('<html lang="sv"');
    expect(res.text).toContain('Avregistrera dig från mejl från Nordlys?');
    expect(res.text).toMatch(/<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/);
    expect(await t.store.consents.get('cust-unsub-get', 'email')).toBeUndefined();
  });

  it('one-click POST (RFC 8058) records the opt-out once, and a second POST changes nothing', async () => {
    const { path } = await unsubscribeLink('cust-unsub-post', 'ingrid', 'en');
    const first = await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(first.text).toContain('You are unsubscribed');
    const recorded = await t.store.consents.get('cust-unsub-post', 'email');
    expect(recorded).toMatchObject({ granted: false, source: 'email:one-click' });
    await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(await t.store.consents.get('cust-unsub-post', 'email')).toEqual(recorded);
    // The page now says it is done instead of asking again.
    expect((await request(t.app).get(path).expect(200)).text).toContain('You are unsubscribed');
  });

  it('the page button records where the opt-out came from, in the email language', async () => {
    const { path } = await unsubscribeLink('cust-unsub-page', 'emre', 'tr');
    const res = await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click&via=page').expect(200);
    expect(res.text).toContain('<html lang="tr"');
    expect(res.text).toContain('Aboneliğiniz iptal edildi');
    expect(await t.store.consents.get('cust-unsub-page', 'email')).toMatchObject({ granted: false, source: 'email:unsubscribe-page' });
  });

  it('after unsubscribing, marketing email renders as suppressed; transactional email and WhatsApp still render', async () => {
    const { path, body } = await unsubscribeLink('cust-unsub-render');
    await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);

    const marketing = await request(t.app).post('/v1/render').send(body).expect(200);
    expect(marketing.body.email).toEqual({ suppressed: true, reason: 'unsubscribed' });
    expect(marketing.body.segments.length).toBeGreaterThan(0);

    const both = renderBody('price-drop', 'ingrid', 'price-drop');
    both.profile = { ...both.profile, id: 'cust-unsub-render' };
    const priceDrop = await request(t.app).post('/v1/render').send(both).expect(200);
    expect(priceDrop.body.email).toEqual({ suppressed: true, reason: 'unsubscribed' });
    expect(priceDrop.body.whatsapp.suppressed).toBe(false);

    const order = renderBody('order-confirmation', 'ingrid', undefined, {
      channels: ['email'],
      order: { number: 'NL-1001', currency: 'SEK', total: 769, channel: 'email', status: 'placed', lines: [{ sku: 'NL-TOP-002', title: 'Top', quantity: 1, unitPrice: 769 }] },
    });
    order.profile = { ...order.profile, id: 'cust-unsub-render' };
    const confirmation = await request(t.app).post('/v1/render').send(order).expect(200);
    expect(confirmation.body.email.html).toContain('NL-1001');
    expect(confirmation.body.email.headers).toBeUndefined();

    const eml = await request(t.app).post('/v1/render?format=eml').send(body);
    expect(eml.status).toBe(422);
    expect(eml.body.error.code).toBe('unsubscribed');
  });

  it('batches suppress the email of an unsubscribed customer, line by line', async () => {
    const { path, body } = await unsubscribeLink('cust-unsub-batch');
    await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    const other = { ...body, profile: { ...(body.profile as object), id: 'cust-still-subscribed' } };
    const res = await request(t.app)
      .post('/v1/render/batch')
      .set('content-type', 'application/x-ndjson')
      .send(`${JSON.stringify(body)}\n${JSON.stringify(other)}\n`)
      .expect(200);
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].result.email).toEqual({ suppressed: true, reason: 'unsubscribed' });
    expect(lines[1].result.email.html).toContain('<html');
  });

  it('a tampered token gets a clear page and changes nothing', async () => {
    const { path } = await unsubscribeLink('cust-unsub-tamper');
    const [kid, payload, sig] = tokenOf(path).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${kid}.${Buffer.from(JSON.stringify({ ...claims, sub: 'cust-someone-else' })).toString('base64url')}.${sig}`;
    for (const bad of [forged, 'not-a-token', `${kid}.${payload}.${sig.slice(0, -2)}xx`]) {
      const res = await request(t.app).post(`/u/${bad}`).type('form').send('List-Unsubscribe=One-Click');
      expect(res.status).toBe(400);
      expect(res.text).toContain('This unsubscribe link is not valid');
      expect(res.text).toContain('Nothing was changed');
    }
    expect(await t.store.consents.get('cust-someone-else', 'email')).toBeUndefined();
    expect(await t.store.consents.get('cust-unsub-tamper', 'email')).toBeUndefined();
  });

  it('an AMP access token is not an unsubscribe token', async () => {
    const res = await request(t.app).post('/v1/render').send(renderBody('recommendations', 'ingrid', 'picks-8', { channels: ['email'] })).expect(200);
    const ampToken = decodeURIComponent(/[?&;]token(?:=|&#x3D;)([^"&]+)/.exec(res.body.email.amp as string)![1]!);
    expect((await request(t.app).post(`/u/${ampToken}`).type('form').send('List-Unsubscribe=One-Click')).status).toBe(400);
  });

  it('an expired token gets a clear page in the email language and changes nothing', async () => {
    const expired = signUnsubscribeToken({ sub: 'cust-unsub-expired', loc: 'sv' }, new Date(t.store.now().getTime() - 60_000), t.config.tokenKeys);
    const res = await request(t.app).post(`/u/${expired}`).type('form').send('List-Unsubscribe=One-Click');
    expect(res.status).toBe(410);
    expect(res.text).toContain('Den här avregistreringslänken har gått ut');
    expect(await t.store.consents.get('cust-unsub-expired', 'email')).toBeUndefined();
  });
});

describe('email consent through /v1/customers', () => {
  it('GET shows the recorded decisions, and PUT …/consents subscribes a customer again', async () => {
    await request(t.app).put('/v1/customers').send([{ id: 'cust-consents', email: 'c@example.com', locale: 'en', currency: 'EUR' }]).expect(200);
    const { path, body } = await unsubscribeLink('cust-consents');
    await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);

    const shown = await request(t.app).get('/v1/customers/cust-consents').expect(200);
    expect(shown.body.consents).toEqual({ email: { granted: false, source: 'email:one-click', updatedAt: expect.any(String) } });

    const set = await request(t.app).put('/v1/customers/cust-consents/consents').send({ email: true, source: 'preference-center' }).expect(200);
    expect(set.body).toEqual({ id: 'cust-consents', consents: { email: { granted: true, source: 'api:preference-center', updatedAt: expect.any(String) } } });
    const again = await request(t.app).post('/v1/render').send(body).expect(200);
    expect(again.body.email.html).toContain('<html');

    await request(t.app).put('/v1/customers/cust-consents/consents').send({ email: false }).expect(200);
    expect((await request(t.app).post('/v1/render').send(body).expect(200)).body.email).toEqual({ suppressed: true, reason: 'unsubscribed' });
  });

  it('PUT …/consents names the wrong field and records nothing', async () => {
    const res = await request(t.app).put('/v1/customers/cust-consents-bad/consents').send({ email: 'no', sms: true });
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual(['email', 'sms']);
    expect(await t.store.consents.get('cust-consents-bad', 'email')).toBeUndefined();
  });
});

import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { renderResultSchema } from '../../src/http/api-schemas.ts';
import { emailParts } from '../../src/render/render-message.ts';
import { countBareLf, parseEml } from '../support/parse-eml.ts';
import { openTestApp, rawExchange, useTestApp, renderBody, type TestApp } from './helpers.ts';
import { createManualClock } from '../support/test-clock.ts';

let t: TestApp;
// A clock that stands still: two renders of one message must sign the same token expiry even
// when a second boundary passes between them (a loaded machine).
useTestApp({ now: createManualClock().now }, (app) => (t = app));

const asText = (res: request.Response, cb: (err: Error | null, body: string) => void) => {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.on('end', () => cb(null, text));
};

describe('POST /v1/render', () => {
  it('renders the email for Sophie as a VIP, catalog SKUs resolved, in the documented shape', async () => {
    const res = await request(t.app).post('/v1/render').send(renderBody('recommendations', 'sophie', 'picks-8', { channels: ['email'] }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const result = renderResultSchema.parse(res.body);
    expect(result.template).toBe('recommendations');
    expect(result.segments).toContain('vip');
    const email = emailParts(result);
    expect(email?.amp).toMatch(/^<!doctype html>/i);
    // Titles come from the catalog: the picks only carry SKUs.
    expect(email?.html).toContain('Fjord Linen Shirt');
    expect(email?.text).toContain('Fjord Linen Shirt');
    expect(result.whatsapp).toBeUndefined();
  });

  it('renders email and WhatsApp for a template that has both', async () => {
    const res = await request(t.app).post('/v1/render').send(renderBody('price-drop', 'rachel', 'price-drop'));
    expect(res.status).toBe(200);
    const result = renderResultSchema.parse(res.body);
    expect(result.segments).toEqual(expect.arrayContaining(['discount_seeker']));
    expect(emailParts(result)?.subject).toBeTruthy();
    expect(result.whatsapp).toMatchObject({ suppressed: false, window: 'closed', kind: 'template' });
  });

  it('honours a WhatsApp STOP recorded in the consent store over the profile', async () => {
    await t.store.consents.set('cust-sophie', 'whatsapp', false, 'whatsapp:STOP');
    try {
      const res = await request(t.app).post('/v1/render').send(renderBody('price-drop', 'sophie', 'price-drop', { channels: ['whatsapp'] }));
      expect(res.status).toBe(200);
      expect(res.body.whatsapp).toEqual({ suppressed: true, reason: 'opted_out', window: 'open' });
    } finally {
      await t.store.consents.set('cust-sophie', 'whatsapp', true, 'whatsapp:START');
    }
  });

  it('400 names every wrong field by its dotted path', async () => {
    const body = renderBody('recommendations', 'sophie', 'picks-8');
    const res = await request(t.app)
      .post('/v1/render')
      .send({
        ...body,
        profile: { ...body.profile, email: 'not-an-address', phone: '0770 0900', locale: 'x'.repeat(50) },
        recommendations: { items: [{ reason: 'no sku' }] },
        context: { now: 'yesterday' },
        surprise: true,
      });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    const paths = res.body.error.fields.map((f: { path: string }) => f.path).sort();
    expect(paths).toEqual(['context.now', 'profile.email', 'profile.locale', 'profile.phone', 'recommendations.items.0.sku', 'surprise']);
    expect(res.body.error.message).toContain('profile.email');
    for (const f of res.body.error.fields) expect(f.message).toBeTruthy();
  });

  it('400 names a reason key outside the locale files\' reason strings', async () => {
    const body = renderBody('recommendations', 'sophie', undefined, { recommendations: { items: [{ sku: 'NL-TOP-001', reason: { key: 'justIn' } }] } });
    const res = await request(t.app).post('/v1/render').send(body).expect(400);
    expect(res.body.error.fields).toEqual([
      { path: 'recommendations.items.0.reason.key', message: 'a reason key names a string under "reason" in the locale files, e.g. reason.justIn' },
    ]);
  });

  it('400 for an inline recommended product priced 0, not a silent fallback to its sku', async () => {
    const inline = { sku: 'NL-TOP-001', title: 'Free shirt', price: 0, currency: 'EUR', url: 'https://shop.nordlys.example/p/free', sizes: [{ size: 'M', stock: 3 }] };
    const body = renderBody('recommendations', 'sophie', undefined, { recommendations: { items: [inline, { ...inline, sku: 'NL-TOP-002', price: 5, prices: { SEK: 0 } }] } });
    const res = await request(t.app).post('/v1/render').send(body).expect(400);
    const message = 'must be greater than 0: a product without a price cannot be offered for sale';
    expect(res.body.error.fields).toEqual([
      { path: 'recommendations.items.0.price', message },
      { path: 'recommendations.items.1.prices.SEK', message },
    ]);
  });

  it('400 invalid_json for a malformed body', async () => {
    const res = await request(t.app).post('/v1/render').set('content-type', 'application/json').send('{"template": "recommendations",');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
    expect(res.body.error.message).toMatch(/not valid JSON/);
  });

  it('400 when the data does not satisfy the template (no products in stock)', async () => {
    const res = await request(t.app).post('/v1/render').send(renderBody('recommendations', 'sophie', undefined, { recommendations: { items: [{ sku: 'NO-SUCH-SKU' }] } }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ path: 'recommendations.items' })]);
  });

  it('400 for a variant the template does not have', async () => {
    const res = await request(t.app).post('/v1/render').send(renderBody('recommendations', 'sophie', 'picks-8', { variant: 'Z' }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ path: 'variant' })]);
  });

  it('404 for an unknown template, listing the known ones', async () => {
    const res = await request(t.app).post('/v1/render').send(renderBody('no-such-template', 'sophie', 'picks-8'));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('unknown_template');
    expect(res.body.error.message).toContain('recommendations');
  });

  it('413 when the body is over JSON_BODY_LIMIT', async () => {
    const body = renderBody('recommendations', 'sophie', 'picks-8', { profile: { id: 'x', firstName: 'a'.repeat(1024 * 1024) } });
    const res = await request(t.app).post('/v1/render').send(body);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('415 when the body is not JSON', async () => {
    const res = await request(t.app).post('/v1/render').set('content-type', 'text/plain').send('template=recommendations');
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'unsupported_media_type' });
    expect(res.body.error.message).toContain('application/json');
  });

  it('renders the same message for the same message id and clock', async () => {
    const body = renderBody('recommendations', 'ingrid', 'winback', { context: { now: '2026-11-22T10:00:00Z', messageId: 'msg-1' } });
    const [a, b] = await Promise.all([request(t.app).post('/v1/render').send(body), request(t.app).post('/v1/render').send(body)]);
    expect(a.body.id).toBe('msg-1');
    expect(a.body.email.html).toBe(b.body.email.html);
    expect(a.body.segments).toEqual(['at_risk', 'mountains']);
  });
});

describe('POST /v1/render response encoding', () => {
  const body = JSON.stringify(renderBody('recommendations', 'ayse', 'picks-8', { context: { now: '2026-11-22T10:00:00Z', messageId: 'enc-1' } }));
  const post = (headers: Record<string, string> = {}) => rawExchange(t.app, { path: '/v1/render', headers: { 'content-type': 'application/json', ...headers }, body });

  it('without Accept-Encoding: the JSON exactly as JSON.stringify writes it, with Content-Length', async () => {
    const res = await post();
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    const text = res.body.toString('utf8');
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    expect(JSON.parse(text)).toMatchObject({ id: 'enc-1', segments: expect.arrayContaining(['birthday_month']) });
  });

  it('gzip when the client accepts it: gunzips to the identity bytes exactly', async () => {
    const [plain, gzipped] = await Promise.all([post(), post({ 'accept-encoding': 'gzip, deflate, br' })]);
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('Accept-Encoding');
    expect(Number(gzipped.headers['content-length'])).toBe(gzipped.body.length);
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 4);
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true);
  });

  it('gzip responses of one layout shrink once it recurs, and every one gunzips to valid JSON', async () => {
    const sizes: number[] = [];
    for (let n = 0; n < 10; n++) {
      const res = await post({ 'accept-encoding': 'gzip' });
      expect(res.status).toBe(200);
      // gunzip checks the CRC-32 and the length of the whole body.
      expect(JSON.parse(gunzipSync(res.body).toString('utf8'))).toMatchObject({ id: 'enc-1' });
      sizes.push(res.body.length);
    }
    expect(sizes.at(-1)!).toBeLessThan(sizes[0]! * 0.7);
  });

  it('identity when gzip is refused with q=0', async () => {
    const res = await post({ 'accept-encoding': 'gzip;q=0, identity' });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(res.body.toString('utf8'))).toMatchObject({ id: 'enc-1' });
  });

  it('errors are not encoded', async () => {
    const res = await rawExchange(t.app, { path: '/v1/render', headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' }, body: '{}' });
    expect(res.status).toBe(400);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(res.body.toString('utf8')).error.code).toBe('invalid_request');
  });
});

describe('POST /v1/render?format=eml', () => {
  it('returns the RFC 5322 message with parts in the order text/plain, text/x-amp-html, text/html', async () => {
    const res = await request(t.app)
      .post('/v1/render?format=eml')
      .send(renderBody('recommendations', 'sophie', 'picks-8', { context: { now: '2026-11-22T10:00:00Z', messageId: 'eml-1' } }))
      .buffer(true)
      .parse(asText);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('message/rfc822');
    const eml = res.body as string;
    expect(eml).toMatch(/^Content-Type: multipart\/alternative;/im);
    expect(eml).toMatch(/^To: sophie\.turner@example\.com$/im);
    expect(eml).toMatch(/^Message-ID: <eml-1@shop\.nordlys\.example>$/im);
    // A marketing template: one-click unsubscribe for Gmail's and Yahoo's bulk-sender rules.
    expect(eml).toMatch(/^List-Unsubscribe: <https?:\/\/[^/]+\/u\/[\w-]+\.[\w-]+\.[\w-]+>$/im);
    expect(eml).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/im);
    const order = ['text/plain', 'text/x-amp-html', 'text/html'].map((type) => eml.search(new RegExp(`^Content-Type: ${type.replace('/', '\\/')}`, 'im')));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('ends every line in CRLF, headers and body alike (RFC 5322), and reads back as the JSON render', async () => {
    const body = renderBody('recommendations', 'sophie', 'picks-8', { context: { now: '2026-11-22T10:00:00Z', messageId: 'eml-2' } });
    const res = await request(t.app).post('/v1/render?format=eml').send(body).buffer(true).parse(asText);
    expect(res.status).toBe(200);
    const eml = res.body as string;
    expect(countBareLf(eml)).toBe(0);
    const json = await request(t.app).post('/v1/render').send({ ...body, channels: ['email'] });
    const { text, amp, html } = json.body.email;
    expect(parseEml(eml).parts.map((p) => p.body)).toEqual([text, amp, html].map((s: string) => s.replace(/\r?\n/g, '\r\n')));
  });

  it('400 naming profile.email when there is no recipient address', async () => {
    const body = renderBody('recommendations', 'minimal', 'picks-8');
    const res = await request(t.app).post('/v1/render?format=eml').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ path: 'profile.email' })]);
  });

  it('400 when the request asks for WhatsApp only', async () => {
    const res = await request(t.app).post('/v1/render?format=eml').send(renderBody('price-drop', 'rachel', 'price-drop', { channels: ['whatsapp'] }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ path: 'channels' })]);
  });

  it('400 for an unknown format', async () => {
    const res = await request(t.app).post('/v1/render?format=pdf').send(renderBody('recommendations', 'sophie', 'picks-8'));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([expect.objectContaining({ path: 'format' })]);
  });
});

describe('POST /v1/render?format=eml for a WhatsApp-only template', () => {
  it('422 no_email_part', async () => {
    const templates = t.templates;
    const priceDrop = templates.templates.get('price-drop')!;
    const whatsappOnly = { ...priceDrop, manifest: { ...priceDrop.manifest, channels: ['whatsapp' as const] } };
    const app = await openTestApp({ dataDir: t.dataDir, seed: false, templates: { ...templates, templates: new Map([['price-drop', whatsappOnly]]) } });
    try {
      const res = await request(app.app).post('/v1/render?format=eml').send(renderBody('price-drop', 'rachel', 'price-drop'));
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('no_email_part');
      expect(res.body.error.message).toContain('Drop ?format=eml');
    } finally {
      await app.close();
    }
  });
});

import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/commerce/signed-token.ts';
import { ampUrls, DOMAIN_SENDER, expectAmpAnswer, mintToken, openAmpApp, pathOf, renderAmp, SENDER, v1, v2, yahoo, type AmpApp } from './amp-kit.ts';
import { testClock } from '../support/test-clock.ts';

let t: AmpApp;
let offers: string;
let checkout: string;
beforeAll(async () => {
  t = await openAmpApp('sqlite');
  const { amp } = await renderAmp(t, 'recommendations', 'sophie', 'picks-8');
  offers = pathOf(ampUrls(amp).lists[0]!);
  checkout = pathOf(ampUrls(amp).forms[0]!);
});
afterAll(async () => {
  await t?.destroy();
});

const V1_HEADERS = ['access-control-allow-origin', 'amp-access-control-allow-source-origin', 'access-control-expose-headers', 'access-control-allow-credentials'];

describe('CORS for AMP for Email', () => {
  it('v2: echoes an allowed sender in AMP-Email-Allow-Sender and sends no v1 header', async () => {
    const res = await request(t.server).get(offers).set(v2);
    expectAmpAnswer(res);
    expect(res.status).toBe(200);
    expect(res.headers['amp-email-allow-sender']).toBe(SENDER);
    for (const h of V1_HEADERS) expect(res.headers[h]).toBeUndefined();
    expect(res.headers.vary).toMatch(/AMP-Email-Sender/);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('v2: *@domain allows every address at exactly that domain, compared without case', async () => {
    expect((await request(t.server).get(offers).set('AMP-Email-Sender', DOMAIN_SENDER)).headers['amp-email-allow-sender']).toBe(DOMAIN_SENDER);
    const mixed = await request(t.server).get(offers).set('AMP-Email-Sender', 'Offers@Nordlys.Example');
    expect(mixed.status).toBe(200);
    expect(mixed.headers['amp-email-allow-sender']).toBe('Offers@Nordlys.Example');
    const sub = await request(t.server).get(offers).set('AMP-Email-Sender', 'x@eu.mail.nordlys.example');
    expect(sub.status).toBe(403);
  });

  it('v2: refuses a sender that is not allowed, with JSON and without the allow header', async () => {
    const res = await request(t.server).get(offers).set('AMP-Email-Sender', 'phish@evil.example');
    expectAmpAnswer(res);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('sender_not_allowed');
    expect(res.body.error.message).toContain('AMP_ALLOWED_SENDERS');
    expect(res.headers['amp-email-allow-sender']).toBeUndefined();
  });

  it('v2 wins when a client sends both versions', async () => {
    const both = v1(offers, 'phish@evil.example');
    const res = await request(t.server).get(both.path).set(both.headers).set(v2);
    expect(res.status).toBe(200);
    expect(res.headers['amp-email-allow-sender']).toBe(SENDER);
    for (const h of V1_HEADERS) expect(res.headers[h]).toBeUndefined();
  });

  it('v1: Origin and __amp_source_origin answered with exactly the three v1 headers (and credentials)', async () => {
    const req = v1(offers);
    const res = await request(t.server).get(req.path).set(req.headers);
    expectAmpAnswer(res);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://mail.google.com');
    expect(res.headers['amp-access-control-allow-source-origin']).toBe(SENDER);
    expect(res.headers['access-control-expose-headers']).toBe('AMP-Access-Control-Allow-Source-Origin');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['amp-email-allow-sender']).toBeUndefined();
  });

  it('v1: refuses a sender not allowed, and an Origin without __amp_source_origin', async () => {
    const bad = v1(offers, 'phish@evil.example');
    const refused = await request(t.server).get(bad.path).set(bad.headers);
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const missing = await request(t.server).get(offers).set('Origin', 'https://mail.google.com');
    expectAmpAnswer(missing);
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('cors_refused');
  });

  it('Yahoo/AOL: Origin null with the provider origin as source is allowed, with credentials', async () => {
    const req = yahoo(offers);
    const res = await request(t.server).get(req.path).set(req.headers);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('null');
    expect(res.headers['amp-access-control-allow-source-origin']).toBe('https://mail.yahoo.com');
    expect(res.headers['access-control-expose-headers']).toBe('AMP-Access-Control-Allow-Source-Origin');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const aol = v1(offers, 'https://mail.aol.com', 'https://mail.aol.com');
    expect((await request(t.server).get(aol.path).set(aol.headers)).status).toBe(200);
  });

  it("Yahoo's source origin from any other page is refused", async () => {
    const req = v1(offers, 'https://mail.yahoo.com', 'https://evil.example');
    const res = await request(t.server).get(req.path).set(req.headers);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('cors_refused');
  });

  it('refuses a request with neither protocol', async () => {
    const res = await request(t.server).get(offers);
    expectAmpAnswer(res);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('cors_refused');
  });

  it('answers a preflight with the origin, methods and requested headers', async () => {
    const res = await request(t.server)
      .options(checkout)
      .set('Origin', 'https://mail.google.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://mail.google.com');
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    expect(res.headers['access-control-allow-headers']).toBe('content-type');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect((await request(t.server).options(checkout)).status).toBe(400);
  });
});

describe('the message token', () => {
  const token = (path: string) => new URL(path, 'https://x').searchParams.get('token')!;

  it('401 invalid_token when missing, in words for the customer, with CORS headers so the email can show it', async () => {
    const res = await request(t.server).get('/amp/v1/offers').set(v2);
    expectAmpAnswer(res);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'invalid_token', message: 'This email link is not valid. Open the shop to continue.' } });
    expect(res.headers['amp-email-allow-sender']).toBe(SENDER);
  });

  it('401 invalid_token when tampered: another customer in a re-encoded payload keeps the old signature', async () => {
    const [kid, payload, sig] = token(offers).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${kid}.${Buffer.from(JSON.stringify({ ...claims, sub: 'cust-carl' })).toString('base64url')}.${sig}`;
    const res = await request(t.server).get(`/amp/v1/offers?token=${forged}`).set(v2);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_token');
    const flipped = `${kid}.${payload}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await request(t.server).get(`/amp/v1/offers?token=${flipped}`).set(v2)).body.error.code).toBe('invalid_token');
  });

  it('401 expired_token after the token lifetime, in the language of the email', async () => {
    const claims = { sub: 'cust-sophie', msg: 'm-old', tpl: 'recommendations', skus: ['NL-TOP-001'] };
    const en = mintToken(t.config.tokenKeys, { ...claims, locale: 'en' }, -60);
    const res = await request(t.server).post(`/amp/v1/checkout?token=${en}`).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'S' });
    expectAmpAnswer(res);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'expired_token', message: 'This email has expired. Open the shop to continue.' } });
    const tr = mintToken(t.config.tokenKeys, { ...claims, locale: 'tr' }, -60);
    expect((await request(t.server).get(`/amp/v1/offers?token=${tr}`).set(v2)).body.error.message).toBe('Bu e-postanın süresi doldu. Devam etmek için mağazayı açın.');
  });

  it('401 invalid_token for a key that is not configured (rotated out)', async () => {
    const other = signToken({ sub: 'cust-sophie', msg: 'm', tpl: 'recommendations', exp: Math.floor(testClock.now().getTime() / 1000) + 60 }, [{ id: 'retired', secret: 'r'.repeat(40) }]);
    const res = await request(t.server).get(`/amp/v1/offers?token=${other}`).set(v2);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_token');
  });

  it('a token still verifies after rotation adds a new first key', async () => {
    const { openTestApp, removeDir } = await import('../http/helpers.ts');
    const current = t.config.tokenKeys[0]!;
    const rotated = await openTestApp({ env: { AMP_ALLOWED_SENDERS: SENDER, TOKEN_SECRETS: `new:${'n'.repeat(40)},${current.id}:${current.secret}` } });
    try {
      expect((await request(rotated.app).get(offers).set(v2)).status).toBe(200);
    } finally {
      await rotated.close();
      removeDir(rotated.dataDir);
    }
  });
});

describe('answers', () => {
  it('bad fields are a 400 naming them, with a message the email can show', async () => {
    const res = await request(t.server).post(checkout).set(v2).type('form').send({ sku: 'NL-TOP-001', quantity: 'lots' });
    expectAmpAnswer(res);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toBe('Please choose a size.');
    expect(res.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual(['quantity', 'size']);
  });

  it('a repeated single-value field is refused rather than guessed', async () => {
    const res = await request(t.server).post(checkout).set(v2).type('form').send('sku=NL-TOP-001&size=S&size=M');
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['size']);
  });

  it('a size the product does not have is a 400 on size; an unknown product a 409', async () => {
    const size = await request(t.server).post(checkout).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'XXXL' });
    expect(size.status).toBe(400);
    expect(size.body.error).toMatchObject({ code: 'unknown_size', fields: [{ path: 'size' }] });
    // A product the message offered that has left the catalog since:
    const offered = mintToken(t.config.tokenKeys, { sub: 'cust-sophie', msg: 'm-gone', tpl: 'recommendations', skus: ['NL-GONE-404'] });
    const gone = await request(t.server).post(`/amp/v1/checkout?token=${offered}`).set(v2).type('form').send({ sku: 'NL-GONE-404', size: 'M' });
    expect(gone.status).toBe(409);
    expect(gone.body.error).toEqual({ code: 'unknown_product', message: 'Sorry, this item is no longer available.' });
  });

  it('a token buys only what its message offered (or what is already in the cart)', async () => {
    const before = (await t.store.orders.listByCustomer('cust-sophie')).length;
    const other = await request(t.server).post(checkout).set(v2).type('form').send({ sku: 'NL-SKI-001', size: 'M' });
    expect(other.status).toBe(403);
    expect(other.body.error).toEqual({ code: 'not_in_message', message: 'Sorry, this item is no longer available.' });
    const cartPath = checkout.replace('/checkout?', '/cart?');
    const added = await request(t.server).post(cartPath).set(v2).type('form').send({ sku: 'NL-SKI-001', size: 'M', quantity: '1', action: 'add' });
    expect(added.status).toBe(403);
    expect((await t.store.orders.listByCustomer('cust-sophie')).length).toBe(before);
  });

  it('forms larger than 16 kB and other media types are refused with JSON', async () => {
    const big = await request(t.server).post(checkout).set(v2).type('form').send({ sku: 'NL-TOP-001', size: 'S', note: 'x'.repeat(17_000) });
    expectAmpAnswer(big);
    expect(big.status).toBe(413);
    expect(big.body.error).toEqual({ code: 'payload_too_large', message: 'That was more than this form accepts.' });
    const json = await request(t.server).post(checkout).set(v2).send({ sku: 'NL-TOP-001', size: 'S' });
    expect(json.status).toBe(415);
    expect(json.body.error.code).toBe('unsupported_media_type');
  });

  it('unknown endpoints are 404 and wrong methods 405, both JSON', async () => {
    const tok = new URL(offers, 'https://x').searchParams.get('token')!;
    const missing = await request(t.server).get(`/amp/v1/wishlist?token=${tok}`).set(v2);
    expectAmpAnswer(missing);
    expect(missing.status).toBe(404);
    const method = await request(t.server).get(`/amp/v1/checkout?token=${tok}`).set(v2);
    expectAmpAnswer(method);
    expect(method.status).toBe(405);
    expect(method.headers.allow).toBe('POST');
  });

  it('a trailing slash is answered in place, not redirected', async () => {
    const [path, query] = offers.split('?') as [string, string];
    const res = await request(t.server).get(`${path}/?${query}`).set(v2);
    expectAmpAnswer(res);
    expect(res.status).toBe(200);
  });
});

import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { openTestApp, removeDir, useTestApp, type TestApp } from './helpers.ts';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-fedcba9876543210';

let t: TestApp;
useTestApp({ env: { API_KEYS: `${KEY_A},${KEY_B}` }, seed: false }, (app) => (t = app));

describe('API keys', () => {
  it('401 without a key, with the bearer challenge', async () => {
    const res = await request(t.app).get('/v1/templates');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="inboxcart"');
    expect(res.body.error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') });
  });

  it('401 with a wrong key, a key of another length, or another scheme', async () => {
    for (const header of [`Bearer ${KEY_A.slice(0, -1)}x`, 'Bearer short', `Basic ${Buffer.from(`u:${KEY_A}`).toString('base64')}`]) {
      const res = await request(t.app).get('/v1/templates').set('authorization', header);
      expect(res.status, header).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
  });

  it('accepts every configured key', async () => {
    for (const key of [KEY_A, KEY_B]) await request(t.app).get('/v1/templates').set('authorization', `Bearer ${key}`).expect(200);
  });

  it('guards every /v1 route, including ones that would 404', async () => {
    await request(t.app).post('/v1/render').send({}).expect(401);
    await request(t.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').send('{}\n').expect(401);
    await request(t.app).put('/v1/catalog/products').send([]).expect(401);
    await request(t.app).get('/v1/catalog/products/X').expect(401);
    await request(t.app).get('/v1/openapi.json').expect(401);
    await request(t.app).get('/v1/unknown').expect(401);
  });

  it('leaves the probes open', async () => {
    await request(t.app).get('/healthz').expect(200);
    await request(t.app).get('/readyz').expect(200);
  });
});

describe('without API_KEYS', () => {
  it('the API is open and the configuration notices say so', async () => {
    const open = await openTestApp({ seed: false });
    try {
      await request(open.app).get('/v1/templates').expect(200);
      expect(open.config.notices.join('\n')).toMatch(/API_KEYS is not set: the \/v1 API is open/);
    } finally {
      await open.close();
      removeDir(open.dataDir);
    }
  });
});

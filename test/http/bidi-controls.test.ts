import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bidiControlsIn, laceWithBidi } from '../support/bidi-data.ts';
import { FIXED_NOW, profile, useTestApp, type TestApp } from './helpers.ts';

// Regression, issue 13 item 5 through the API: bidi controls sent as data (catalog, render
// requests, batch lines, customers) come back in no part of a message and are not stored.

let t: TestApp;
// One render thread: batch lines render on it, over its own catalog copy.
useTestApp({ env: { BATCH_THREADS: '1' } }, (app) => (t = app));

const bidiProduct = laceWithBidi({
  sku: 'NL-BIDI-HTTP',
  title: 'Linen Tote exe.gpj',
  description: 'Carries a laptop',
  category: 'accessories',
  price: 35,
  currency: 'EUR',
  url: 'https://shop.nordlys.example/p/NL-BIDI-HTTP',
  image: 'https://cdn.nordlys.example/img/NL-BIDI-HTTP.jpg',
  sizes: [{ size: 'ONE', stock: 5 }],
  tags: ['bags'],
});

// The hostile profile's last name is the longest the schema takes: two shorter, for the two controls.
const hostile = () => {
  const p = profile('hostile');
  return { ...p, lastName: (p.lastName as string).slice(0, 1998) };
};

const body = (template: string, messageId: string) =>
  laceWithBidi({
    template,
    profile: hostile(),
    recommendations: { items: [{ sku: 'NL-BIDI-HTTP', reason: 'For your laptop' }, { sku: 'NL-TOP-001' }, { sku: 'NL-TOP-002' }], offer: { percentOff: 15, code: 'DROP15' } },
    context: { now: FIXED_NOW, messageId },
  });

describe('bidi controls through the HTTP API', () => {
  it('PUT /v1/catalog/products stores the product without them', async () => {
    const put = await request(t.app).put('/v1/catalog/products').send([bidiProduct]);
    expect(put.status).toBe(200);
    expect(put.body.skus).toEqual(['NL-BIDI-HTTP']);
    const got = await request(t.app).get('/v1/catalog/products/NL-BIDI-HTTP');
    expect(got.body).toMatchObject({ title: 'Linen Tote exe.gpj', description: 'Carries a laptop', category: 'accessories', tags: ['bags'], sizes: [{ size: 'ONE', stock: 5 }] });
  });

  it('POST /v1/render returns no part with one, the catalog product cleaned', async () => {
    for (const template of ['price-drop', 'recommendations']) {
      const res = await request(t.app).post('/v1/render').send(body(template, `bidi-${template}`));
      expect(res.status).toBe(200);
      expect(res.body.email.html).toContain('&#x27; evil 👩🏽‍💻🔥');
      if (template === 'recommendations') expect(res.body.email.subject).toContain("' evil 👩🏽‍💻🔥");
      expect(res.body.email.html).toContain('Linen Tote exe.gpj');
      expect(res.body.whatsapp.suppressed).toBe(false);
      expect(bidiControlsIn(JSON.stringify(res.body.email)), `${template} email`).toEqual([]);
      expect(bidiControlsIn(JSON.stringify(res.body.whatsapp)), `${template} whatsapp`).toEqual([]);
    }
  });

  it('POST /v1/render/batch returns no line with one', async () => {
    const lines = ['price-drop', 'recommendations', 'price-drop'].map((tpl, i) => JSON.stringify(body(tpl, `bidi-batch-${i}`)));
    const res = await request(t.app).post('/v1/render/batch').set('content-type', 'application/x-ndjson').send(`${lines.join('\n')}\n`);
    expect(res.status).toBe(200);
    const out = res.text.trim().split('\n').map((l) => JSON.parse(l) as { line: number; ok: boolean; result: { email: { html: string } } });
    expect(out.map((l) => [l.line, l.ok])).toEqual([[1, true], [2, true], [3, true]]);
    for (const l of out) expect(l.result.email.html).toContain('Linen Tote exe.gpj');
    expect(bidiControlsIn(res.text)).toEqual([]);
  });

  it('PUT /v1/customers stores the profile without them', async () => {
    const put = await request(t.app)
      .put('/v1/customers')
      .send([{ id: 'cust-bidi', locale: 'en', currency: 'EUR', profile: { firstName: 'Dana\u202E \u2067שלום\u2069', location: { city: '\u202BMalmö' } } }]);
    expect(put.status).toBe(200);
    const got = await request(t.app).get('/v1/customers/cust-bidi');
    expect(got.body.profile).toMatchObject({ firstName: 'Dana שלום', location: { city: 'Malmö' } });
  });
});

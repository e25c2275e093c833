import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Preview } from '../../src/http/preview/preview-routes.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp({ seed: false });
});
afterAll(async () => {
  (t.app.locals.preview as Preview).close();
  await t.close();
  removeDir(t.dataDir);
});

describe('the preview and the triggers', () => {
  it('lists the triggers with their templates and channels', async () => {
    const res = await request(t.app).get('/preview/api/triggers').expect(200);
    expect(res.body.triggers).toEqual([
      { name: 'price-drop', enabled: true, template: 'price-drop', channels: ['whatsapp', 'email'] },
      { name: 'back-in-stock', enabled: true, template: 'back-in-stock', channels: ['whatsapp', 'email'] },
      { name: 'abandoned-cart', enabled: true, template: 'abandoned-cart', channels: ['whatsapp', 'email'] },
      { name: 'birthday', enabled: true, template: 'birthday-reward', channels: ['email'] },
      { name: 'win-back', enabled: true, template: 'win-back', channels: ['whatsapp', 'email'] },
    ]);
  });

  it("simulates a price drop for Rachel: email outside the WhatsApp window, naming the product and its 30-day lowest", async () => {
    const res = await request(t.app).post('/preview/api/triggers/simulate').send({ trigger: 'price-drop', profile: 'rachel', sku: 'NL-TOP-002' }).expect(200);
    // Rachel last wrote on WhatsApp on 19 November; the fixtures' day is 22 November.
    expect(res.body).toMatchObject({ trigger: 'price-drop', template: 'price-drop', channel: 'email' });
    const email = res.body.render.result.email;
    expect(email.subject).toBe('Price drop: Merino Rib Knit Top');
    expect(email.text).toContain('Merino Rib Knit Top: €69.95\nLowest price in the last 30 days: €79.95');
    expect(res.body.render.problems.filter((p: { severity: string }) => p.severity === 'error')).toEqual([]);
  });

  it('answers 400 naming an unknown trigger', async () => {
    const res = await request(t.app).post('/preview/api/triggers/simulate').send({ trigger: 'anniversary', profile: 'rachel' });
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['trigger']);
  });
});

import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/create-app.ts';
import { TemplateError } from '../../src/templates/template-error.ts';
import { openTestApp, useTestApp, testTemplates, type TestApp } from './helpers.ts';

let t: TestApp;
useTestApp({ seed: false }, (app) => (t = app));

describe('probes', () => {
  it('/healthz says the process is up', async () => {
    await request(t.app).get('/healthz').expect(200, { status: 'ok' });
  });

  it('/readyz is 200 when the database answers and every template compiled', async () => {
    await request(t.app).get('/readyz').expect(200, { status: 'ready' });
  });

  it('/readyz is 503 with the reason when a template failed to compile', async () => {
    const templates = await testTemplates();
    const broken = { ...templates, failures: new Map([['winter-sale', [new TemplateError('winter-sale/email.mjml', 3, 'unclosed <mj-section>')]]]) };
    const app = await openTestApp({ dataDir: t.dataDir, seed: false, templates: broken });
    try {
      const res = await request(app.app).get('/readyz').expect(503);
      expect(res.body.status).toBe('not_ready');
      expect(res.body.reasons).toEqual([expect.stringContaining("template 'winter-sale' failed to compile")]);
    } finally {
      await app.close();
    }
  });

  it('/readyz is 503 once the store is closed, /healthz still 200', async () => {
    const app = await openTestApp({ dataDir: t.dataDir, seed: false });
    await app.close();
    const res = await request(app.app).get('/readyz').expect(503);
    expect(res.body).toEqual({ status: 'not_ready', reasons: ['the sqlite database does not answer'] });
    await request(app.app).get('/healthz').expect(200);
  });
});

describe('/readyz during shutdown', () => {
  it('is 503 "shutting down" once draining, so load balancers stop sending traffic', async () => {
    const app = await createApp({ config: t.config, store: t.store, templates: t.templates, draining: () => true });
    const res = await request(app).get('/readyz').expect(503);
    expect(res.body.reasons).toEqual(['shutting down']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { activeCustomer, atRiskCustomer, putCustomers, winBack } from './helpers.ts';

const clock = createManualClock(NOW);
let sink: SmtpSink;
let t: TestApp;
const campaigns = () => t.app.locals.campaigns as Campaigns;
const drain = () => (campaigns().runner as EmbeddedRunner).drain();

beforeAll(async () => {
  sink = await startSmtpSink();
  const dataDir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/inboxcart-campaigns-`);
  t = await openTestApp({ dataDir, store: { dataDir, now: clock.now }, env: { SMTP_URL: sink.url } });
  // 10:00 UTC on the test date: 10:00 in London, 02:00 in Los Angeles (quiet until 08:00 local, 16:00 UTC).
  await putCustomers(t.app, [
    atRiskCustomer('c-london-1'),
    atRiskCustomer('c-london-2'),
    atRiskCustomer('c-la', 'America/Los_Angeles'),
    atRiskCustomer('c-no-consent', 'Europe/London', { consent: { email: false, whatsapp: false } }),
    atRiskCustomer('c-unsubscribed'),
    activeCustomer('c-active'),
    activeCustomer('p-1'),
    activeCustomer('p-2'),
    activeCustomer('x-1'),
    activeCustomer('l-1'),
    activeCustomer('l-2'),
    activeCustomer('s-1'),
  ]);
  await request(t.app).put('/v1/customers/c-unsubscribed/consents').send({ email: false, source: 'esp' }).expect(200);
});

afterAll(async () => {
  await campaigns().close();
  await t.close();
  await sink.close();
  removeDir(t.dataDir);
});

describe('POST /v1/campaigns', () => {
  it('answers 400 naming an unknown template', async () => {
    const res = await request(t.app).post('/v1/campaigns').send(winBack('bad-template', { template: 'no-such-template' }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ path: 'template', message: expect.stringContaining("Unknown template 'no-such-template'") }]);
  });

  it('answers 400 naming an unknown segment', async () => {
    const res = await request(t.app).post('/v1/campaigns').send(winBack('bad-segment', { audience: { segments: ['at_risk', 'whales'] } }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ path: 'audience.segments.1', message: expect.stringContaining("Unknown segment 'whales'") }]);
  });

  it('sends the at_risk segment once by SMTP, defers quiet hours, counts suppressions, and is idempotent on the id', async () => {
    const created = await request(t.app).post('/v1/campaigns').send(winBack('wb-1'));
    expect(created.status).toBe(201);
    // The active customer is in no at_risk segment; the one without email consent is filtered out.
    expect(created.body).toMatchObject({ id: 'wb-1', status: 'running', recipients: 4, total: 4, queued: 4, delivered: 0 });

    await drain();
    const after = await request(t.app).get('/v1/campaigns/wb-1').expect(200);
    expect(after.body).toMatchObject({
      status: 'running',
      queued: 0,
      deferred: 1,
      deferredReasons: { quiet_hours: 1 },
      delivered: 2,
      rendered: 2,
      suppressed: { total: 1, reasons: { unsubscribed: 1 } },
      failed: { total: 0, reasons: {} },
    });
    // Recipients are numbered in customer id order: c-la 0, c-london-1 1, c-london-2 2.
    expect(sink.received.map((m) => m.to).sort()).toEqual([['c-london-1@example.com'], ['c-london-2@example.com']]);
    const mail = sink.received.find((m) => m.to[0] === 'c-london-1@example.com')!.mail;
    expect(mail.messageId).toBe('<wb-1.1@shop.nordlys.example>');
    expect(mail.subject).toContain('Name c-london-1');
    expect(mail.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');

    // Same body: 200 with the progress; another body under the id: 409.
    const again = await request(t.app).post('/v1/campaigns').send(winBack('wb-1'));
    expect(again.status).toBe(200);
    expect(again.body.delivered).toBe(2);
    const other = await request(t.app).post('/v1/campaigns').send(winBack('wb-1', { channels: ['email', 'whatsapp'] }));
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('campaign_exists');

    // Running the chunk again sends nothing twice.
    await drain();
    expect(sink.received).toHaveLength(2);

    // 08:00 in Los Angeles: the deferred message goes.
    clock.set('2026-11-22T16:00:00Z');
    await drain();
    const done = await request(t.app).get('/v1/campaigns/wb-1').expect(200);
    expect(done.body).toMatchObject({ status: 'completed', queued: 0, deferred: 0, delivered: 3, suppressed: { total: 1 } });
    expect(sink.received.map((m) => m.to[0])).toHaveLength(3);
    expect(sink.received[2]!.to).toEqual(['c-la@example.com']);
  });

  it('caps marketing at one message per customer per channel per 24 hours, counted as suppressed', async () => {
    clock.set('2026-11-22T17:00:00Z');
    const before = sink.received.length;
    await request(t.app).post('/v1/campaigns').send(winBack('wb-2')).expect(201);
    await drain();
    const res = await request(t.app).get('/v1/campaigns/wb-2').expect(200);
    expect(res.body).toMatchObject({ status: 'completed', delivered: 0, suppressed: { total: 4, reasons: { frequency_cap: 3, unsubscribed: 1 } } });
    expect(sink.received.length).toBe(before);
  });

  it('answers 400 naming unknown customer ids', async () => {
    const res = await request(t.app).post('/v1/campaigns').send(winBack('ids-bad', { audience: { customerIds: ['p-1', 'nobody'] } }));
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ path: 'audience.customerIds', message: expect.stringContaining('nobody') }]);
  });

  it('pauses, resumes and cancels', async () => {
    const before = sink.received.length;
    await request(t.app).post('/v1/campaigns').send(winBack('p-camp', { audience: { customerIds: ['p-1', 'p-2'] } })).expect(201);
    const paused = await request(t.app).post('/v1/campaigns/p-camp/pause').expect(200);
    expect(paused.body).toMatchObject({ status: 'paused', queued: 2 });
    await drain();
    expect(sink.received.length).toBe(before);
    expect((await request(t.app).post('/v1/campaigns/p-camp/pause')).status).toBe(409);

    const resumed = await request(t.app).post('/v1/campaigns/p-camp/resume').expect(200);
    expect(resumed.body.status).toBe('running');
    await drain();
    const done = await request(t.app).get('/v1/campaigns/p-camp').expect(200);
    expect(done.body).toMatchObject({ status: 'completed', delivered: 2, queued: 0 });
    expect(sink.received.slice(before).map((m) => m.to[0]).sort()).toEqual(['p-1@example.com', 'p-2@example.com']);

    await request(t.app).post('/v1/campaigns').send(winBack('x-camp', { audience: { customerIds: ['x-1'] } })).expect(201);
    expect((await request(t.app).post('/v1/campaigns/x-camp/cancel').expect(200)).body.status).toBe('cancelled');
    await drain();
    expect((await request(t.app).get('/v1/campaigns/x-camp').expect(200)).body).toMatchObject({ status: 'cancelled', delivered: 0, queued: 1 });
    const resume = await request(t.app).post('/v1/campaigns/x-camp/resume');
    expect(resume.status).toBe(409);
    expect(resume.body.error.code).toBe('campaign_state');
    expect(sink.received.length).toBe(before + 2);
    expect((await request(t.app).get('/v1/campaigns/none')).status).toBe(404);
  });

  it('takes over a chunk and a claimed message whose runner died, once their lease has run out', async () => {
    const before = sink.received.length;
    await request(t.app).post('/v1/campaigns').send(winBack('lease-1', { audience: { customerIds: ['l-1', 'l-2'] } })).expect(201);
    // A runner takes the chunk, claims l-1's email and dies before the outcome is written.
    const repo = campaigns().repo;
    const leaseMs = t.config.campaigns.leaseMs;
    const chunk = await repo.claimDueChunk(new Date(clock.now().getTime() + leaseMs));
    expect(chunk).toMatchObject({ campaignId: 'lease-1', chunk: 0 });
    expect(await repo.claim('lease-1', 'l-1', 'email', 0, new Date(clock.now().getTime() + leaseMs))).toBe(true);
    await drain();
    expect(sink.received.length).toBe(before);
    expect((await request(t.app).get('/v1/campaigns/lease-1')).body).toMatchObject({ status: 'running', queued: 2 });

    clock.advance(leaseMs + 1000);
    await drain();
    expect((await request(t.app).get('/v1/campaigns/lease-1')).body).toMatchObject({ status: 'completed', delivered: 2, queued: 0 });
    expect(sink.received.slice(before).map((m) => m.to[0]).sort()).toEqual(['l-1@example.com', 'l-2@example.com']);
    const rows = await t.store.db
      .withTables<{ campaign_deliveries: { campaign_id: string; customer_id: string; attempts: number; status: string } }>()
      .selectFrom('campaign_deliveries')
      .select(['customer_id', 'attempts', 'status'])
      .where('campaign_id', '=', 'lease-1')
      .orderBy('customer_id')
      .execute();
    expect(rows).toEqual([
      { customer_id: 'l-1', attempts: 2, status: 'delivered' },
      { customer_id: 'l-2', attempts: 1, status: 'delivered' },
    ]);
  });

  it('holds a scheduled campaign until its time', async () => {
    const at = new Date(clock.now().getTime() + 3_600_000).toISOString();
    await request(t.app).post('/v1/campaigns').send(winBack('sched-1', { audience: { customerIds: ['s-1'] }, schedule: { at } })).expect(201);
    await drain();
    expect((await request(t.app).get('/v1/campaigns/sched-1')).body).toMatchObject({ status: 'running', queued: 1, delivered: 0 });
    clock.set(at);
    await drain();
    expect((await request(t.app).get('/v1/campaigns/sched-1')).body).toMatchObject({ status: 'completed', delivered: 1 });
  });

  it('takes the audience as an NDJSON upload of full profiles after the campaign line', async () => {
    const { audience: _, ...header } = winBack('upload-1');
    const profile = (id: string, email: string) => ({ id, firstName: `Up ${id}`, email, locale: 'en', currency: 'EUR', timezone: 'Europe/London', consent: { email: true } });
    const send = (lines: unknown[]) =>
      request(t.app)
        .post('/v1/campaigns')
        .set('content-type', 'application/x-ndjson')
        .send(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');

    const bad = await send([header, profile('u-1', 'u-1@example.com'), profile('u-2', 'not an address')]);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['audience.recipients.1.email']);

    const before = sink.received.length;
    const created = await send([header, profile('u-1', 'u-1@example.com'), profile('u-2', 'u-2@example.com')]);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ recipients: 2 });
    await drain();
    expect((await request(t.app).get('/v1/campaigns/upload-1')).body).toMatchObject({ status: 'completed', delivered: 2 });
    expect(sink.received.slice(before).map((m) => m.to[0]).sort()).toEqual(['u-1@example.com', 'u-2@example.com']);
    // The same upload again: the same campaign.
    expect((await send([header, profile('u-1', 'u-1@example.com'), profile('u-2', 'u-2@example.com')])).status).toBe(200);
  });
});

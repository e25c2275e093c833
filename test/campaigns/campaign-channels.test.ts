import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { simpleParser } from 'mailparser';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { atRiskCustomer, putCustomers, winBack } from './helpers.ts';

const clock = createManualClock(NOW);
let fake: FakeTwilio;
let t: TestApp;
let outputDir: string;
const campaigns = () => t.app.locals.campaigns as Campaigns;

beforeAll(async () => {
  fake = await startFakeTwilio();
  const { mkdtempSync } = await import('node:fs');
  const dataDir = mkdtempSync(join((await import('node:os')).tmpdir(), 'inboxcart-campaign-channels-'));
  outputDir = join(dataDir, 'out');
  t = await openTestApp({
    dataDir,
    store: { dataDir, now: clock.now },
    env: { OUTPUT_DIR: outputDir, TWILIO_ACCOUNT_SID: fake.accountSid, TWILIO_AUTH_TOKEN: fake.authToken, TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886', TWILIO_API_BASE_URL: fake.baseUrl },
  });
  const withPhone = (id: string, phone: string, inbound: boolean) => {
    const c = atRiskCustomer(id, 'Europe/London', { phone });
    // An inbound message an hour ago keeps the 24-hour window open: a session message goes.
    return inbound ? { ...c, profile: { ...c.profile, whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' } } } : c;
  };
  await putCustomers(t.app, [withPhone('w-1', '+46701234501', true), withPhone('w-2', '+46701234502', true), atRiskCustomer('w-nophone'), withPhone('w-3', '+46701234503', true)]);
  await request(t.app).put('/v1/customers/w-2/consents').send({ whatsapp: false, source: 'esp' }).expect(200);
});

afterAll(async () => {
  await campaigns().close();
  await t.close();
  await fake.close();
  removeDir(t.dataDir);
});

describe('campaign channels', () => {
  it('writes one .eml per recipient to OUTPUT_DIR without SMTP, and sends WhatsApp through Twilio once', async () => {
    await request(t.app)
      .post('/v1/campaigns')
      .send(winBack('ch-1', { audience: { customerIds: ['w-1', 'w-2', 'w-nophone'] }, channels: ['email', 'whatsapp'] }))
      .expect(201);
    await (campaigns().runner as EmbeddedRunner).drain();
    await (campaigns().runner as EmbeddedRunner).drain();

    const progress = await request(t.app).get('/v1/campaigns/ch-1').expect(200);
    expect(progress.body).toMatchObject({
      status: 'completed',
      total: 6,
      queued: 0,
      delivered: 4,
      suppressed: { total: 2, reasons: { opted_out: 1, no_phone: 1 } },
      failed: { total: 0 },
    });
    expect(fake.sent.map((m) => m.To)).toEqual(['whatsapp:+46701234501']);
    expect(fake.sent[0]!.Body).toContain('Name w-1');

    const files = readdirSync(outputDir).sort();
    expect(files).toEqual(['ch-1.0.eml', 'ch-1.1.eml', 'ch-1.2.eml']);
    const mail = await simpleParser(readFileSync(join(outputDir, 'ch-1.0.eml')));
    expect(mail.messageId).toBe('<ch-1.0@shop.nordlys.example>');
    expect((mail.to as { text: string }).text).toBe('w-1@example.com');

    // The message log records the campaign send like every other WhatsApp message.
    const logged = await t.store.db.selectFrom('whatsapp_messages').select(['kind', 'template', 'customer_id']).execute();
    expect(logged).toEqual([{ kind: 'campaign', template: 'win-back', customer_id: 'w-1' }]);
  });

  it('sends again later what Twilio refused for its rate limit (63018), and only once it took it', async () => {
    const drain = () => (campaigns().runner as EmbeddedRunner).drain();
    const sentBefore = fake.sent.length;
    // As a 400: a 429 twilio-node retries by itself before the sender sees it.
    fake.failNextSend(63018, 'Rate limit exceeded');
    await request(t.app).post('/v1/campaigns').send(winBack('ch-2', { audience: { customerIds: ['w-3'] }, channels: ['whatsapp'] })).expect(201);
    await drain();
    expect((await request(t.app).get('/v1/campaigns/ch-2')).body).toMatchObject({ status: 'running', deferred: 1, delivered: 0, failed: { total: 0 } });
    expect(fake.sent.length).toBe(sentBefore);
    clock.advance(60_000);
    await drain();
    expect((await request(t.app).get('/v1/campaigns/ch-2')).body).toMatchObject({ status: 'completed', deferred: 0, delivered: 1 });
    expect(fake.sent.slice(sentBefore).map((m) => m.To)).toEqual(['whatsapp:+46701234503']);
  });
});

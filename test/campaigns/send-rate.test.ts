import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaigns, type Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import { createSendPacer } from '../../src/campaigns/send-pacer.ts';
import { createLogger } from '../../src/http/logger.ts';
import { storeRender } from '../../src/render-service/render-service.ts';
import { openTestApp, picks, removeDir, type TestApp } from '../http/helpers.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { atRiskCustomer, putCustomers } from './helpers.ts';

const REDIS_URL = process.env.INBOXCART_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const clock = createManualClock(NOW);
/** Waiting is the clock moving on: the pacer's spacing shows as exact timestamps. */
const sleep = async (ms: number) => clock.advance(ms);
let fake: FakeTwilio;
let t: TestApp;
let campaigns: Campaigns;

beforeAll(async () => {
  fake = await startFakeTwilio();
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-send-rate-'));
  t = await openTestApp({
    dataDir,
    store: { dataDir, now: clock.now },
    env: {
      OUTPUT_DIR: join(dataDir, 'out'),
      CAMPAIGN_EMAIL_PER_SECOND: '4',
      CAMPAIGN_SEND_CONCURRENCY: '1',
      WHATSAPP_TIER: '2',
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
      TWILIO_API_BASE_URL: fake.baseUrl,
    },
  });
  const { render } = await storeRender({ config: t.config, templates: t.templates, store: t.store, warn: () => {} });
  campaigns = createCampaigns({ config: t.config, store: t.store, templates: t.templates, render, logger: createLogger({ level: 'silent' }), now: clock.now, sleep });
  const customers = Array.from({ length: 5 }, (_, i) => {
    const c = atRiskCustomer(`s-${i}`, 'Europe/London', { phone: `+4670123450${i}` });
    // An inbound message an hour ago keeps the 24-hour window open: a session message goes.
    return { ...c, profile: { ...c.profile, whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' } } };
  });
  await putCustomers(t.app, customers);
});

afterAll(async () => {
  await campaigns?.close();
  await t?.close();
  await fake?.close();
  if (t) removeDir(t.dataDir);
});

const deliveredAt = async (campaignId: string, channel: string) =>
  (
    await t.store.db
      .withTables<{ campaign_deliveries: { campaign_id: string; channel: string; delivered_at: string | null } }>()
      .selectFrom('campaign_deliveries')
      .select('delivered_at')
      .where('campaign_id', '=', campaignId)
      .where('channel', '=', channel)
      .where('delivered_at', 'is not', null)
      .orderBy('delivered_at')
      .execute()
  ).map((r) => Date.parse(r.delivered_at!) - Date.parse(NOW));

describe('per-channel send rates', () => {
  it('spaces emails at CAMPAIGN_EMAIL_PER_SECOND on the clock', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `s-${i}`);
    const created = await campaigns.create({ id: 'rate-1', template: 'win-back', audience: { customerIds: ids }, channels: ['email'], recommendations: picks('winback') as never });
    expect(created.kind).toBe('created');
    await (campaigns.runner as EmbeddedRunner).drain();
    expect(await campaigns.progress('rate-1')).toMatchObject({ status: 'completed', delivered: 5 });
    // 4 a second: one every 250 ms, the first at once.
    expect(await deliveredAt('rate-1', 'email')).toEqual([0, 250, 500, 750, 1000]);
  });

  it('defers WhatsApp messages beyond the tier (unique users per rolling 24 h) with the reason, and sends them when it has room', async () => {
    const startedAt = clock.now().getTime();
    await campaigns.create({ id: 'tier-1', template: 'win-back', audience: { customerIds: ['s-0', 's-1', 's-2', 's-3'] }, channels: ['whatsapp'], recommendations: picks('winback') as never });
    await (campaigns.runner as EmbeddedRunner).drain();
    const progress = await request(t.app).get('/v1/campaigns/tier-1').expect(200);
    expect(progress.body).toMatchObject({ status: 'running', total: 4, queued: 0, delivered: 2, deferred: 2, deferredReasons: { whatsapp_tier: 2 }, failed: { total: 0 } });
    expect(fake.sent.map((m) => m.To)).toEqual(['whatsapp:+46701234500', 'whatsapp:+46701234501']);

    // The first conversation leaves the 24-hour window: the tier has room for the rest.
    clock.set(new Date(startedAt + 24 * 3_600_000 + 1000).toISOString());
    await (campaigns.runner as EmbeddedRunner).drain();
    const done = await request(t.app).get('/v1/campaigns/tier-1').expect(200);
    expect(done.body).toMatchObject({ status: 'completed', delivered: 4, deferred: 0, deferredReasons: {} });
    expect(fake.sent.map((m) => m.To).sort()).toEqual(['whatsapp:+46701234500', 'whatsapp:+46701234501', 'whatsapp:+46701234502', 'whatsapp:+46701234503']);
  });

  it('shares a channel\'s slots between workers through Redis', async () => {
    const prefix = `t-pacer-${randomBytes(5).toString('hex')}`;
    const times: number[] = [];
    const shared = { perSecond: { whatsapp: 10 }, now: clock.now, redisUrl: REDIS_URL, prefix, sleep: async (ms: number) => void times.push(ms) };
    const [a, b] = [createSendPacer(shared), createSendPacer(shared)];
    for (let i = 0; i < 3; i++) {
      await a.wait('whatsapp');
      await b.wait('whatsapp');
    }
    // The clock stands still: each of the six sends waits 100 ms more than the one before, whichever worker sends it.
    expect(times).toEqual([100, 200, 300, 400, 500]);
    await a.close();
    await b.close();
    const redis = new Redis(REDIS_URL);
    await redis.del(`${prefix}:send-slot:whatsapp`);
    redis.disconnect();
  });
});

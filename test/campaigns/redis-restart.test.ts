import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { startRedis, type RedisProcess } from '../support/redis-process.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { testClock } from '../support/test-clock.ts';
import { atRiskCustomer, putCustomers, waitForStatus, winBack } from './helpers.ts';

const RECIPIENTS = 400;
let redis: RedisProcess;
let sink: SmtpSink;
let t: TestApp;
let campaigns: Campaigns;

beforeAll(async () => {
  redis = await startRedis();
  sink = await startSmtpSink();
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-campaigns-redis-restart-'));
  const env = { SMTP_URL: sink.url, REDIS_URL: redis.url, CAMPAIGN_CHUNK_SIZE: '10', CAMPAIGN_CONCURRENCY: '1', CAMPAIGN_LEASE_SECONDS: '5' };
  t = await openTestApp({ dataDir, store: { dataDir, now: testClock.now }, env });
  campaigns = t.app.locals.campaigns as Campaigns;
  await putCustomers(t.app, Array.from({ length: RECIPIENTS }, (_, i) => atRiskCustomer(`r-${String(i).padStart(3, '0')}`)));
});

afterAll(async () => {
  await campaigns?.close();
  await t?.close();
  await sink?.close();
  await redis?.stop();
  if (t) removeDir(t.dataDir);
});

const chunkDone = (id: string) => new Promise<void>((resolve) => {
  const on = (campaignId: string) => {
    if (campaignId !== id) return;
    campaigns.events.off('chunk', on);
    resolve();
  };
  campaigns.events.on('chunk', on);
});

describe('Redis restarted (SIGKILL, no persistence) in the middle of a campaign on BullMQ', () => {
  it('loses nothing: the worker reconnects, re-adds the pending chunks, and every recipient gets one message', async () => {
    campaigns.startWorker();
    const first = chunkDone('restart-1');
    await request(t.app).post('/v1/campaigns').send(winBack('restart-1')).expect(201);
    await first;

    await redis.kill();
    const atKill = await campaigns.progress('restart-1');
    expect(atKill?.status).toBe('running');
    expect(atKill!.delivered).toBeLessThan(RECIPIENTS);
    await redis.start();

    await waitForStatus([campaigns], 'restart-1');
    const progress = await request(t.app).get('/v1/campaigns/restart-1').expect(200);
    expect(progress.body).toMatchObject({ status: 'completed', recipients: RECIPIENTS, delivered: RECIPIENTS, queued: 0, failed: { total: 0 }, suppressed: { total: 0 } });
    const to = sink.received.map((m) => m.to[0]).sort();
    expect(to).toEqual(Array.from({ length: RECIPIENTS }, (_, i) => `r-${String(i).padStart(3, '0')}@example.com`));
  }, 120_000);
});

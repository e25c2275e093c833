import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { CHUNK_QUEUE } from '../../src/campaigns/bullmq-runner.ts';
import { createCampaigns, type Campaigns } from '../../src/campaigns/campaign-service.ts';
import { createLogger } from '../../src/http/logger.ts';
import { storeRender } from '../../src/render-service/render-service.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { dropPgSchema, PG_URL } from '../store/backends.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { testClock } from '../support/test-clock.ts';
import { atRiskCustomer, putCustomers, waitForStatus, winBack } from './helpers.ts';

const REDIS_URL = process.env.INBOXCART_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// Every run of this file has its own Redis keys and PostgreSQL schema.
const prefix = `t-campaigns-${randomBytes(5).toString('hex')}`;
const schema = `t_campaigns_${randomBytes(5).toString('hex')}`;

let sink: SmtpSink;
let t: TestApp;
let secondStore: Store;
let a: Campaigns;
let b: Campaigns;

beforeAll(async () => {
  sink = await startSmtpSink();
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-campaigns-bullmq-'));
  const env = { SMTP_URL: sink.url, REDIS_URL, CAMPAIGN_CHUNK_SIZE: '10', CAMPAIGN_LEASE_SECONDS: '5', CAMPAIGN_QUEUE_PREFIX: prefix };
  const storeOptions = { databaseUrl: PG_URL, pgSchema: schema, now: testClock.now };
  t = await openTestApp({ dataDir, store: storeOptions, env });
  const app = t.app;
  a = app.locals.campaigns as Campaigns;
  // A second instance: its own store connections and queue clients, the same database and Redis.
  secondStore = await openStore(storeOptions);
  const logger = createLogger({ level: 'silent' });
  const { render } = await storeRender({ config: t.config, templates: t.templates, store: secondStore, warn: () => {} });
  b = createCampaigns({ config: t.config, store: secondStore, templates: t.templates, render, logger });
  await putCustomers(app, Array.from({ length: 80 }, (_, i) => atRiskCustomer(`r-${String(i).padStart(3, '0')}`)));
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  const queue = new Queue(CHUNK_QUEUE, { connection: { url: REDIS_URL }, prefix });
  await queue.obliterate({ force: true });
  await queue.close();
  await secondStore?.close();
  await t?.close();
  await sink?.close();
  await dropPgSchema(schema);
  if (t) removeDir(t.dataDir);
});

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `r-${String(from + i).padStart(3, '0')}`);

describe('campaigns on BullMQ with PostgreSQL', () => {
  it('loses nothing when Redis loses its jobs: workers re-add the pending chunks from the store', async () => {
    await request(t.app).post('/v1/campaigns').send(winBack('lost-1', { audience: { customerIds: ids(0, 30) } })).expect(201);
    const queue = (b.runner as unknown as { queue: Queue }).queue;
    await queue.obliterate({ force: true });
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 0, delayed: 0, active: 0 });

    b.startWorker();
    await waitForStatus([b], 'lost-1');
    const progress = await request(t.app).get('/v1/campaigns/lost-1').expect(200);
    expect(progress.body).toMatchObject({ status: 'completed', delivered: 30, queued: 0, failed: { total: 0 } });
    expect(sink.received.map((m) => m.to[0]).sort()).toEqual(ids(0, 30).map((id) => `${id}@example.com`));
  });

  it('shares a campaign between two workers, each recipient once', async () => {
    a.startWorker();
    const before = sink.received.length;
    await request(t.app).post('/v1/campaigns').send(winBack('shared-1', { audience: { customerIds: ids(30, 80) } })).expect(201);
    await waitForStatus([a, b], 'shared-1');
    const progress = await request(t.app).get('/v1/campaigns/shared-1').expect(200);
    expect(progress.body).toMatchObject({ status: 'completed', recipients: 50, delivered: 50, queued: 0 });
    const got = sink.received.slice(before).map((m) => m.to[0]).sort();
    expect(got).toEqual(ids(30, 80).map((id) => `${id}@example.com`));
  });
});

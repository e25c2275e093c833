import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { TICK_QUEUE } from '../../src/triggers/trigger-service.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { customer, DAY, openTriggerApp, put, runs, type TriggerApp } from './helpers.ts';

const REDIS_URL = process.env.INBOXCART_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `t-trigger-tick-${randomBytes(5).toString('hex')}`;
let t: TriggerApp | undefined;

afterAll(async () => {
  await t?.destroy();
  const queue = new Queue(TICK_QUEUE, { connection: { url: REDIS_URL }, prefix });
  await queue.obliterate({ force: true });
  await queue.close();
});

describe('the trigger tick on BullMQ', () => {
  it('runs as a job scheduler on Redis and fires the win-back of a lapsed customer once', { timeout: 60_000 }, async () => {
    const clock = createManualClock(NOW);
    t = await openTriggerApp('postgres', clock, { REDIS_URL, CAMPAIGN_QUEUE_PREFIX: prefix, TRIGGER_TICK_SECONDS: '10' });
    await put(t, '/v1/customers', [customer('bq-lapsed', { profile: { orders: { count: 1, totalSpent: 40, lastOrderAt: new Date(Date.parse(NOW) - 130 * DAY).toISOString() } } })]);
    t.triggers.start();
    const queue = new Queue(TICK_QUEUE, { connection: { url: REDIS_URL }, prefix });
    try {
      expect((await queue.getJobSchedulers()).map((s) => [s.key, s.every])).toEqual([['trigger-tick', 10_000]]);
    } finally {
      await queue.close();
    }
    // The scheduler's first job runs at once; the fire is there when its campaign is.
    await vi.waitFor(async () => expect((await runs(t!, 'win-back')).map((r) => [r.cause.customerId, r.status])).toEqual([['bq-lapsed', 'dispatched']]), { timeout: 20_000, interval: 200 });
    expect((await runs(t, 'win-back'))[0]!.campaigns).toHaveLength(1);
  });
});

import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDispatcher } from '../../src/channels/webhooks/webhook-dispatcher.ts';
import { openStore, type WebhookDelivery } from '../../src/store/index.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { BACKENDS, dropPgSchema, PG_URL, uid } from '../store/backends.ts';
import { freePort } from '../support/free-port.ts';
import { createManualSchedule } from '../support/manual-schedule.ts';
import { testClock } from '../support/test-clock.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'whsec_test_1f2e3d4c5b6a79881f2e3d4c5b6a7988';

/**
 * What an operator sees and does: GET /v1/webhooks/deliveries (state, attempts, last error,
 * next attempt) and POST …/retry; and when a delivery is given up. Its own file: it moves the
 * clock on by a day.
 */
describe.each(BACKENDS)('webhook deliveries (%s)', (backend) => {
  let t: TestApp;
  const pgSchema = backend === 'postgres' ? `t_deliveries_${randomBytes(6).toString('hex')}` : undefined;
  let receiver: WebhookReceiver;
  const wake = createManualSchedule();
  const timeouts = createManualSchedule();
  let deadUrl = '';
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET, now: testClock.now });
    deadUrl = `http://127.0.0.1:${await freePort()}/hooks`;
    t = await openTestApp({
      seed: false,
      env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET },
      webhookTimers: { wake: wake.schedule, timeout: timeouts.schedule },
      ...(pgSchema ? { store: { databaseUrl: PG_URL, pgSchema } } : {}),
    });
  });
  afterAll(async () => {
    await t?.close();
    if (t) removeDir(t.dataDir);
    if (pgSchema) await dropPgSchema(pgSchema);
    await receiver?.close();
  });

  const dispatcher = () => t.app.locals.webhooks as WebhookDispatcher;
  /** An event of a customer of its own; its delivery is attempted at once. */
  async function event(): Promise<string> {
    const e = await t.store.webhooks.record({ type: 'customer.whatsapp_opted_out', data: { customerId: uid('c'), channel: 'whatsapp', source: 'whatsapp:STOP' }, customerId: uid('c') });
    await dispatcher().idle();
    return e.id;
  }
  async function deliveryOf(eventId: string): Promise<WebhookDelivery> {
    const res = await request(t.app).get(`/v1/webhooks/deliveries?eventId=${eventId}`).expect(200);
    expect(res.body.deliveries).toHaveLength(1);
    return res.body.deliveries[0];
  }
  async function nextPass(): Promise<void> {
    const latest = await t.store.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.max('next_attempt_at').as('at')).where('state', '=', 'pending').executeTakeFirst();
    testClock.advance(Math.max(0, latest?.at ? Date.parse(latest.at) - testClock.now().getTime() : 0, ...wake.pendingMs()));
    wake.runPending();
    await dispatcher().idle();
  }

  it('a 4xx answer fails the delivery at once; a retry sends it again, and a redirect is not followed', async () => {
    receiver.respond = (r) => (r.attempt === 1 ? 400 : 200);
    const id = await event();
    expect(await deliveryOf(id)).toMatchObject({ state: 'failed', attempts: 1, lastStatus: 400, lastError: 'HTTP 400: receiver says 400', url: receiver.url });
    const failed = await request(t.app).get('/v1/webhooks/deliveries?state=failed').expect(200);
    expect(failed.body.deliveries.map((d: WebhookDelivery) => d.eventId)).toContain(id);

    const { id: deliveryId } = await deliveryOf(id);
    const retried = await request(t.app).post(`/v1/webhooks/deliveries/${deliveryId}/retry`).expect(202);
    expect(retried.body).toMatchObject({ id: deliveryId, state: 'pending', attempts: 0, nextAttemptAt: expect.any(String) });
    await dispatcher().idle();
    expect(await deliveryOf(id)).toMatchObject({ state: 'delivered', attempts: 1, lastStatus: 200 });
    expect(receiver.requests.filter((r) => r.id === id).map((r) => r.answer)).toEqual([400, 200]);

    receiver.respond = () => 302;
    const moved = await event();
    expect((await deliveryOf(moved)).lastError).toBe('HTTP 302 (redirects are not followed: set WEBHOOK_URL to the final URL): receiver says 302');
  });

  it('the list pages newest first, filters by state, and names a bad filter; retry of an unknown delivery is 404, of one in flight 409', async () => {
    receiver.respond = () => 200;
    const ids = [await event(), await event(), await event()];
    const first = await request(t.app).get('/v1/webhooks/deliveries?state=delivered&limit=2').expect(200);
    expect(first.body.deliveries.map((d: WebhookDelivery) => d.eventId)).toEqual([ids[2], ids[1]]);
    const second = await request(t.app).get(`/v1/webhooks/deliveries?state=delivered&limit=2&after=${first.body.nextCursor}`).expect(200);
    expect(second.body.deliveries[0].eventId).toBe(ids[0]);
    const bad = await request(t.app).get('/v1/webhooks/deliveries?state=lost').expect(400);
    expect(bad.body.error.fields).toEqual([{ path: 'state', message: 'state is one of pending, delivered, failed' }]);
    await request(t.app).post('/v1/webhooks/deliveries/whd_nope/retry').expect(404);

    receiver.respond = () => 'hang';
    const hanging = t.store.webhooks.record({ type: 'customer.whatsapp_opted_out', data: { customerId: 'c' }, customerId: uid('c') });
    const { id } = await hanging;
    await receiver.waitFor(() => receiver.requests.some((r) => r.id === id), 'the hanging attempt');
    const { id: deliveryId } = await deliveryOf(id);
    const busy = await request(t.app).post(`/v1/webhooks/deliveries/${deliveryId}/retry`).expect(409);
    expect(busy.body.error.code).toBe('delivery_in_progress');
    expect(timeouts.runPending()).toBe(1);
    await dispatcher().idle();
    expect(await deliveryOf(id)).toMatchObject({ state: 'pending', attempts: 1, lastError: 'no answer within 10000 ms', nextAttemptAt: expect.any(String) });
    receiver.respond = () => 200;
    await nextPass();
    expect((await deliveryOf(id)).state).toBe('delivered');
  });

  it('a receiver that keeps failing is retried with growing waits for a day, then the delivery is failed', async () => {
    receiver.respond = () => 500;
    const id = await event();
    const created = Date.parse((await deliveryOf(id)).createdAt);
    const waits: number[] = [];
    for (let i = 0; i < 100 && (await deliveryOf(id)).state === 'pending'; i++) {
      const d = await deliveryOf(id);
      waits.push(Date.parse(d.nextAttemptAt!) - Date.parse(d.updatedAt));
      await nextPass();
    }
    const final = await deliveryOf(id);
    expect(final.state).toBe('failed');
    expect(final.lastError).toMatch(/^HTTP 500: receiver says 500 \(given up: not delivered by .+\)$/);
    expect(final.nextAttemptAt).toBeUndefined();
    expect(final.attempts).toBe(waits.length + 1);
    expect(waits[0]).toBeGreaterThanOrEqual(10_000);
    expect(waits[0]).toBeLessThanOrEqual(20_000);
    expect(waits[1]).toBeGreaterThanOrEqual(30_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(3_600_000);
    expect(Math.min(...waits.slice(6))).toBeGreaterThanOrEqual(1_800_000);
    // Retried up to the day after the event, and not beyond it.
    const lastTry = Date.parse(final.updatedAt);
    expect(lastTry - created).toBeGreaterThan(23 * 3_600_000);
    expect(lastTry - created).toBeLessThanOrEqual(24 * 3_600_000);
    expect(receiver.requests.filter((r) => r.id === id)).toHaveLength(final.attempts);
  });

  it('an unreachable receiver is a network error, retried', async () => {
    // Another instance, configured with a receiver nobody listens on, writes the event.
    const other = await openStore({ ...t.store.openedWith, webhookUrls: [deadUrl] });
    try {
      const e = await other.webhooks.record({ type: 'customer.whatsapp_opted_out', data: {}, customerId: uid('c') });
      await dispatcher().run();
      await dispatcher().idle();
      expect(await deliveryOf(e.id)).toMatchObject({ state: 'pending', attempts: 1, url: deadUrl, lastError: 'could not reach the receiver: ECONNREFUSED' });
    } finally {
      await other.close();
    }
  });
});

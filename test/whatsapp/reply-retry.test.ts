import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WhatsAppSender } from '../../src/channels/whatsapp/twilio-sender.ts';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/http/logger.ts';
import { storeRender } from '../../src/render-service/render-service.ts';
import { REPLY_ATTEMPTS, retryDelayMs } from '../../src/channels/whatsapp/reply-retry.ts';
import { whatsappRoutes, type WhatsAppRoutes } from '../../src/http/whatsapp/whatsapp-routes.ts';
import type { TemplateSet } from '../../src/templates/template-registry.ts';
import { removeDir, testConfig, testTemplates } from '../http/helpers.ts';
import { BACKENDS, uid, useStore } from '../store/backends.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { createManualSchedule, type ManualSchedule } from '../support/manual-schedule.ts';
import { testClock } from '../support/test-clock.ts';
import { openWhatsAppApp, PHONES, PUBLIC_BASE_URL, WA_FROM, type WhatsAppTestApp } from './helpers.ts';

// Regression: issue 13 item 6. A reply whose send threw went back to the queue without the
// attempts check and was retried every 30 s forever; retryable failures came back at once.
// Regression: issue item 7. The computed backoff was never waited for by anyone but the periodic
// recovery (every 30 s, for replies queued 10 s or more), so two Twilio 5xx took about a minute.

describe('the retry schedule', () => {
  it('retries within 4 s, then three times longer each time up to 2 min, half of each delay random, and gives up at the sixth failure', () => {
    expect(REPLY_ATTEMPTS).toBe(6);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, true, () => 0))).toEqual([2_000, 6_000, 18_000, 54_000, 60_000]);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, true, () => 0.999_999))).toEqual([4_000, 12_000, 36_000, 108_000, 120_000]);
    expect(retryDelayMs(6, true, () => 0.5)).toBeUndefined();
    expect(retryDelayMs(9, true, () => 0.5)).toBeUndefined();
  });

  it('a failure that waiting will not change is not retried', () => {
    expect(retryDelayMs(1, false, () => 0.5)).toBeUndefined();
  });
});

describe.each(BACKENDS)('failing WhatsApp replies on %s', (backendName) => {
  const { store } = useStore(backendName);
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-retry-'));
  let fake: FakeTwilio;
  let config: Config;
  let templates: TemplateSet;
  let routes: WhatsAppRoutes | undefined;
  let retries: ManualSchedule;
  // The service's clock, moved by the tests; the wall clock plays no part.
  const T0 = Date.parse('2026-06-01T12:00:00.000Z');
  let clock = T0;
  const minutes = (n: number) => n * 60_000;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    config = testConfig(dataDir, { PUBLIC_BASE_URL, TWILIO_ACCOUNT_SID: fake.accountSid, TWILIO_AUTH_TOKEN: fake.authToken, TWILIO_WHATSAPP_FROM: WA_FROM });
    templates = await testTemplates();
  });
  afterEach(async () => {
    await routes?.idle();
    routes?.close();
    routes = undefined;
    // Each pass sends every due reply in the store: a test's leftovers must not reach the next.
    await store().db.deleteFrom('whatsapp_replies').where('status', '=', 'queued').execute();
  });
  afterAll(async () => {
    await fake.close();
    removeDir(dataDir);
  });

  /** The reply queue on this backend, sending through `sender` or the fake Twilio API; its retry timers wait for `retries.runPending()`. */
  async function openQueue(sender?: WhatsAppSender): Promise<WhatsAppRoutes> {
    const logger = createLogger({ level: 'silent' });
    const { catalog, contentSids } = await storeRender({ config, templates, store: store(), warn: () => undefined });
    retries = createManualSchedule();
    routes = whatsappRoutes({
      config,
      store: store(),
      templates,
      logger,
      catalog,
      contentSids,
      httpClient: fake.httpClient,
      ...(sender ? { sender } : {}),
      now: () => new Date(clock),
      scheduleRetry: retries.schedule,
    });
    return routes;
  }

  /** One reply to Sophie, in her 24-hour window, queued at the current clock as a webhook would. */
  async function queueReply(body: string): Promise<string> {
    const key = uid('twilio:inbound');
    const message = { to: `whatsapp:${PHONES.sophie}`, body };
    await store().whatsappReplies.enqueue(key, [{ customerId: 'cust-sophie', message, meta: { kind: 'reply', lastInboundAt: new Date(clock).toISOString() } }], new Date(clock));
    return key;
  }

  /** The first attempt, as the recovery makes it for a reply an instance queued and never sent. */
  async function firstAttempt(queue: WhatsAppRoutes): Promise<void> {
    clock += 20_000;
    await queue.recoverReplies();
  }

  /** Moves the clock to the pending retry and lets its timer fire; resolves when that attempt is over. */
  async function runRetry(queue: WhatsAppRoutes): Promise<void> {
    expect(retries.pendingMs()).toHaveLength(1);
    clock += retries.pendingMs()[0]!;
    expect(retries.runPending()).toBe(1);
    await queue.idle();
  }

  const row = (key: string) => store().db.selectFrom('whatsapp_replies').select(['status', 'attempts', 'last_error', 'next_attempt_at']).where('event_key', '=', key).executeTakeFirstOrThrow();
  const twilioCalls = (body: string) => fake.requests.filter((r) => r.path.endsWith('/Messages.json') && r.form.Body?.[0] === body).length;

  it(`a reply whose send throws every time ends failed after ${REPLY_ATTEMPTS} attempts, with the reason kept, also when only the recovery retries it`, async () => {
    clock = T0;
    let calls = 0;
    const queue = await openQueue({
      send: () => {
        calls += 1;
        return Promise.reject(new Error('connection pool exhausted'));
      },
    });
    const key = await queueReply('Your size is back');
    // Each pass well after any retry time, the instance's own timers never run: only the cap can stop the retries.
    for (let pass = 0; pass < REPLY_ATTEMPTS + 3; pass++) {
      clock += minutes(10);
      await queue.recoverReplies();
    }
    expect(calls).toBe(REPLY_ATTEMPTS);
    expect(await row(key)).toMatchObject({ status: 'failed', last_error: 'error: connection pool exhausted' });
    expect(Number((await row(key)).attempts)).toBe(REPLY_ATTEMPTS);
    expect(await store().whatsappReplies.queued()).not.toContainEqual(expect.objectContaining({ eventKey: key }));
  });

  it(`a Twilio 5xx on every call is retried by the instance's own timer and ends failed after ${REPLY_ATTEMPTS} attempts, with the Twilio error kept`, async () => {
    clock = T0 + minutes(120);
    const queue = await openQueue();
    const body = `Price drop ${uid('m')}`;
    const key = await queueReply(body);
    for (let i = 0; i < REPLY_ATTEMPTS; i++) fake.failNextSend(20500, 'Internal Server Error', 500);
    await firstAttempt(queue);
    for (let retry = 1; retry < REPLY_ATTEMPTS; retry++) await runRetry(queue);
    expect(twilioCalls(body)).toBe(REPLY_ATTEMPTS);
    expect(await row(key)).toMatchObject({ status: 'failed', last_error: '20500: Internal Server Error' });
    expect(Number((await row(key)).attempts)).toBe(REPLY_ATTEMPTS);
    // Given up: no timer is left for it.
    expect(retries.pendingMs()).toEqual([]);
  });

  it('each retry is timed for its retry time, within its backoff bounds, and the recovery does not take it a millisecond earlier', async () => {
    clock = T0 + minutes(240);
    const queue = await openQueue();
    const body = `Back in stock ${uid('m')}`;
    const key = await queueReply(body);
    for (let i = 0; i < REPLY_ATTEMPTS - 1; i++) fake.failNextSend(20500, 'Internal Server Error', 500);
    await firstAttempt(queue);
    const waits: number[] = [];
    for (let failures = 1; failures < REPLY_ATTEMPTS; failures++) {
      const { next_attempt_at: retryAt, attempts, status } = await row(key);
      expect([status, Number(attempts)]).toEqual(['queued', failures]);
      // The timer is set for the retry time the row records.
      expect(retries.pendingMs()).toEqual([Date.parse(retryAt!) - clock]);
      waits.push(retries.pendingMs()[0]!);
      const failedAt = clock;
      clock = Date.parse(retryAt!) - 1;
      await queue.recoverReplies();
      expect(twilioCalls(body)).toBe(failures);
      clock = failedAt;
      await runRetry(queue);
      expect(twilioCalls(body)).toBe(failures + 1);
    }
    // At most 4 s, 12 s, 36 s, 108 s and 120 s, the upper half of each drawn at random.
    const ceilings = [4_000, 12_000, 36_000, 108_000, 120_000];
    expect(waits.map((w, i) => w >= ceilings[i]! / 2 && w <= ceilings[i]!)).toEqual(ceilings.map(() => true));
    expect(await row(key)).toMatchObject({ status: 'sent', last_error: null });
    expect(fake.sent.filter((m) => m.Body === body)).toHaveLength(1);
  });

  it('a retry timer that fires a little before the clock reads the retry time still sends, rather than leaving it to the recovery', async () => {
    clock = T0 + minutes(300);
    const queue = await openQueue();
    const body = `Restocked ${uid('m')}`;
    const key = await queueReply(body);
    fake.failNextSend(20500, 'Internal Server Error', 500);
    await firstAttempt(queue);
    clock += retries.pendingMs()[0]! - 5;
    retries.runPending();
    await queue.idle();
    expect(twilioCalls(body)).toBe(2);
    expect(await row(key)).toMatchObject({ status: 'sent' });
  });

  it('an instance that stops with a retry pending leaves it queued, and another sends it at its retry time', async () => {
    clock = T0 + minutes(360);
    const first = await openQueue();
    const firstRetries = retries;
    const body = `Your order ${uid('m')}`;
    const key = await queueReply(body);
    fake.failNextSend(20500, 'Internal Server Error', 500);
    await firstAttempt(first);
    expect(firstRetries.pendingMs()).toHaveLength(1);
    first.close();
    expect(firstRetries.pendingMs()).toEqual([]);
    const { next_attempt_at: retryAt } = await row(key);

    const next = await openQueue();
    clock = Date.parse(retryAt!) - 1;
    await next.recoverReplies();
    expect(twilioCalls(body)).toBe(1);
    clock += 1;
    await next.recoverReplies();
    expect(twilioCalls(body)).toBe(2);
    expect(await row(key)).toMatchObject({ status: 'sent' });
  });
});

describe('a reply Twilio fails twice with a 5xx, through the webhook', () => {
  let t: WhatsAppTestApp;
  beforeAll(async () => {
    t = await openWhatsAppApp('sqlite');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reaches the customer on the third attempt, well within 20 s of the message on the service clock', async () => {
    const start = testClock.now().getTime();
    const before = t.twilio.requests.length;
    t.twilio.failNextSend(20500, 'Internal Server Error', 500);
    t.twilio.failNextSend(20503, 'Service Unavailable', 503);
    expect((await t.say(PHONES.sophie, 'help')).status).toBe(200);
    const waits: number[] = [];
    for (let retry = 0; retry < 2; retry++) {
      const [wait] = t.retries.pendingMs();
      expect(t.retries.pendingMs()).toHaveLength(1);
      waits.push(wait!);
      testClock.advance(wait!);
      t.retries.runPending();
      await t.whatsapp.idle();
    }
    expect(waits[0]).toBeGreaterThanOrEqual(2_000);
    expect(waits[0]).toBeLessThanOrEqual(4_000);
    expect(waits[1]).toBeGreaterThanOrEqual(6_000);
    expect(waits[1]).toBeLessThanOrEqual(12_000);
    expect(t.retries.pendingMs()).toEqual([]);
    expect(await t.store.whatsappReplies.queued()).toEqual([]);
    const calls = t.twilio.requests.slice(before).filter((r) => r.path.endsWith('/Messages.json'));
    // The first reply was tried three times; the ones after it waited and went once each.
    expect(calls[0]!.form.Body).toEqual(calls[1]!.form.Body);
    expect(calls[1]!.form.Body).toEqual(calls[2]!.form.Body);
    const delivered = t.twilio.sent.filter((m) => m.To === `whatsapp:${PHONES.sophie}` && m.Body === calls[0]!.form.Body![0]);
    expect(delivered).toHaveLength(1);
    expect(testClock.now().getTime() - start).toBeLessThan(20_000);
  });
});

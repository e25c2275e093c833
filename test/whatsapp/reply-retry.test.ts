import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WhatsAppSender } from '../../src/channels/whatsapp/twilio-sender.ts';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/http/logger.ts';
import { storeRender } from '../../src/http/render-service.ts';
import { REPLY_ATTEMPTS, retryDelayMs } from '../../src/http/whatsapp/reply-retry.ts';
import { whatsappRoutes, type WhatsAppRoutes } from '../../src/http/whatsapp/whatsapp-routes.ts';
import type { TemplateSet } from '../../src/templates/template-registry.ts';
import { removeDir, testConfig, testTemplates } from '../http/helpers.ts';
import { BACKENDS, uid, useStore } from '../store/backends.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { PHONES, PUBLIC_BASE_URL, WA_FROM } from './helpers.ts';

// Regression: issue 13 item 6. A reply whose send threw went back to the queue without the
// attempts check and was retried every 30 s forever; retryable failures came back at once.

describe('the retry schedule', () => {
  it('backs off exponentially from 30 s, half of each delay random, and gives up at the fifth failure', () => {
    expect(REPLY_ATTEMPTS).toBe(5);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, true, () => 0))).toEqual([15_000, 30_000, 60_000, 120_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, true, () => 0.999_999))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(5, true, () => 0.5)).toBeUndefined();
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

  /** The reply queue on this backend, sending through `sender` or the fake Twilio API. */
  async function openQueue(sender?: WhatsAppSender): Promise<WhatsAppRoutes> {
    const logger = createLogger({ level: 'silent' });
    const { catalog, contentSids } = await storeRender({ config, templates, store: store(), warn: () => undefined });
    routes = whatsappRoutes({ config, store: store(), templates, logger, catalog, contentSids, httpClient: fake.httpClient, ...(sender ? { sender } : {}), now: () => new Date(clock) });
    return routes;
  }

  /** One reply to Sophie, in her 24-hour window, queued at the current clock as a webhook would. */
  async function queueReply(body: string): Promise<string> {
    const key = uid('twilio:inbound');
    const message = { to: `whatsapp:${PHONES.sophie}`, body };
    await store().whatsappReplies.enqueue(key, [{ customerId: 'cust-sophie', message, meta: { kind: 'reply', lastInboundAt: new Date(clock).toISOString() } }], new Date(clock));
    return key;
  }

  const row = (key: string) => store().db.selectFrom('whatsapp_replies').select(['status', 'attempts', 'last_error', 'next_attempt_at']).where('event_key', '=', key).executeTakeFirstOrThrow();
  const twilioCalls = (body: string) => fake.requests.filter((r) => r.path.endsWith('/Messages.json') && r.form.Body?.[0] === body).length;

  it('a reply whose send throws every time ends failed after 5 attempts, with the reason kept', async () => {
    clock = T0;
    let calls = 0;
    const queue = await openQueue({
      send: () => {
        calls += 1;
        return Promise.reject(new Error('connection pool exhausted'));
      },
    });
    const key = await queueReply('Your size is back');
    // Each pass well after any retry time: only the cap can stop the retries.
    for (let pass = 0; pass < 8; pass++) {
      clock += minutes(10);
      await queue.recoverReplies();
    }
    expect(calls).toBe(5);
    expect(await row(key)).toMatchObject({ status: 'failed', last_error: 'error: connection pool exhausted' });
    expect(Number((await row(key)).attempts)).toBe(5);
    expect(await store().whatsappReplies.queued()).not.toContainEqual(expect.objectContaining({ eventKey: key }));
  });

  it('a Twilio 5xx on every call ends failed after 5 attempts, with the Twilio error kept', async () => {
    clock = T0 + minutes(120);
    const queue = await openQueue();
    const body = `Price drop ${uid('m')}`;
    const key = await queueReply(body);
    for (let i = 0; i < REPLY_ATTEMPTS; i++) fake.failNextSend(20500, 'Internal Server Error', 500);
    for (let pass = 0; pass < 8; pass++) {
      clock += minutes(10);
      await queue.recoverReplies();
    }
    expect(twilioCalls(body)).toBe(5);
    expect(await row(key)).toMatchObject({ status: 'failed', last_error: '20500: Internal Server Error' });
    expect(Number((await row(key)).attempts)).toBe(5);
  });

  it('each retry waits out its backoff: not due a millisecond before its retry time, sent at it', async () => {
    clock = T0 + minutes(240);
    const queue = await openQueue();
    const body = `Back in stock ${uid('m')}`;
    const key = await queueReply(body);
    for (let i = 0; i < REPLY_ATTEMPTS - 1; i++) fake.failNextSend(20500, 'Internal Server Error', 500);
    clock += 20_000;
    await queue.recoverReplies();
    const waits: number[] = [];
    for (let failures = 1; failures < REPLY_ATTEMPTS; failures++) {
      const { next_attempt_at: retryAt, attempts, status } = await row(key);
      expect([status, Number(attempts)]).toEqual(['queued', failures]);
      waits.push(Date.parse(retryAt!) - clock);
      clock = Date.parse(retryAt!) - 1;
      await queue.recoverReplies();
      expect(twilioCalls(body)).toBe(failures);
      clock += 1;
      await queue.recoverReplies();
      expect(twilioCalls(body)).toBe(failures + 1);
    }
    // Up to 30 s, 60 s, 120 s and 240 s, the upper half of each drawn at random.
    expect(waits.map((w, i) => w >= 15_000 * 2 ** i && w <= 30_000 * 2 ** i)).toEqual([true, true, true, true]);
    expect(await row(key)).toMatchObject({ status: 'sent', last_error: null });
    expect(fake.sent.filter((m) => m.Body === body)).toHaveLength(1);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebaseTwilioUri } from '../../src/channels/whatsapp/twilio-base-url.ts';
import { createTwilioSender } from '../../src/channels/whatsapp/twilio-sender.ts';
import { commandTwilioSync } from '../../src/cli/twilio-sync.ts';
import type { Config } from '../../src/config.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { memoryLog, removeDir, testConfig, testTemplates } from '../http/helpers.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { testClock } from '../support/test-clock.ts';
import { PHONES, PUBLIC_BASE_URL, WA_FROM } from './helpers.ts';

// Regression: issue item 6. Twilio's API could not be pointed elsewhere by configuration, so a
// staging service needed an HTTP proxy and a custom CA to keep off the real account.

describe('rebaseTwilioUri', () => {
  const base = 'https://proxy.example/twilio';

  it("appends api.twilio.com's and content.twilio.com's paths and queries to the one base URL", () => {
    expect(rebaseTwilioUri('https://api.twilio.com/2010-04-01/Accounts/ACx/Messages.json', base)).toBe('https://proxy.example/twilio/2010-04-01/Accounts/ACx/Messages.json');
    expect(rebaseTwilioUri('https://content.twilio.com/v1/Content/HXy/ApprovalRequests/whatsapp', base)).toBe('https://proxy.example/twilio/v1/Content/HXy/ApprovalRequests/whatsapp');
    expect(rebaseTwilioUri('https://content.twilio.com/v1/Content?PageSize=50', base)).toBe('https://proxy.example/twilio/v1/Content?PageSize=50');
    expect(rebaseTwilioUri('https://api.twilio.com/2010-04-01/Accounts.json', 'http://127.0.0.1:4010')).toBe('http://127.0.0.1:4010/2010-04-01/Accounts.json');
  });

  it('overrides the edge and region twilio-node puts in the host (TWILIO_EDGE, TWILIO_REGION)', () => {
    expect(rebaseTwilioUri('https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/ACx/Messages.json', base)).toBe('https://proxy.example/twilio/2010-04-01/Accounts/ACx/Messages.json');
    expect(rebaseTwilioUri('https://content.us1.twilio.com/v1/Content', base)).toBe('https://proxy.example/twilio/v1/Content');
  });

  it('refuses a host it has no mapping for, rather than letting it reach Twilio', () => {
    expect(() => rebaseTwilioUri('https://messaging.twilio.com/v1/Services', base)).toThrow(
      'TWILIO_API_BASE_URL stands in for api.twilio.com and content.twilio.com only; twilio-node called messaging.twilio.com, which is refused rather than sent to Twilio. Map that host in twilio-base-url.ts.',
    );
    expect(() => rebaseTwilioUri('https://api.twilio.com.evil.example/2010-04-01/Accounts.json', base)).toThrow(/called api\.twilio\.com\.evil\.example/);
  });
});

describe('TWILIO_API_BASE_URL with a path prefix, as a staging proxy serves it', () => {
  let fake: FakeTwilio;
  let config: Config;
  let store: Store;
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-base-url-'));

  beforeAll(async () => {
    fake = await startFakeTwilio({ pathPrefix: '/twilio' });
    // No httpClient anywhere below: only the configuration points the library at the fake.
    config = testConfig(dataDir, {
      PUBLIC_BASE_URL,
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_WHATSAPP_FROM: WA_FROM,
      TWILIO_API_BASE_URL: `${fake.baseUrl}/`,
    });
    store = await openStore({ dataDir, now: testClock.now });
  });
  afterAll(async () => {
    await store?.close();
    await fake?.close();
    removeDir(dataDir);
  });

  it('the sender posts the message under the prefix, with the account credentials, and never logs the token', async () => {
    const { lines, logger } = memoryLog();
    const sender = createTwilioSender(config, { messages: store.messages, logger });
    const result = await sender.send({ to: `whatsapp:${PHONES.sophie}`, body: 'Hej från staging' }, { kind: 'reply', customerId: 'cust-sophie' });
    expect(result).toMatchObject({ ok: true, status: 'queued' });
    expect(fake.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/twilio/2010-04-01/Accounts/${fake.accountSid}/Messages.json`,
        auth: { username: fake.accountSid, password: fake.authToken },
        form: expect.objectContaining({ To: [`whatsapp:${PHONES.sophie}`], From: [WA_FROM], Body: ['Hej från staging'] }),
      }),
    ]);
    expect(lines.map((l) => l.msg)).toEqual(['WhatsApp message sent']);
    expect(JSON.stringify(lines)).not.toContain(fake.authToken);
  });

  it('a failure at the endpoint comes back typed with what it answered; the log names neither the token nor the full number', async () => {
    const { lines, logger } = memoryLog();
    const sender = createTwilioSender(config, { messages: store.messages, logger });
    fake.failNextSend(20500, 'Internal Server Error', 500);
    const result = await sender.send({ to: `whatsapp:${PHONES.sophie}`, body: 'Hej igen' }, { kind: 'reply' });
    expect(result).toMatchObject({ ok: false, error: { code: 20500, httpStatus: 500, retryable: true } });
    expect(JSON.stringify(lines)).not.toContain(fake.authToken);
    expect(JSON.stringify(lines)).not.toContain(PHONES.sophie);
  });

  it('`inboxcart twilio sync` creates and submits the Content definitions under the same prefix, and says where they went', async () => {
    fake.requests.length = 0;
    const output: string[] = [];
    expect(await commandTwilioSync({ config, templates: await testTemplates(), locales: ['en'], out: (l) => output.push(l) })).toBe(0);
    expect(output[0]).toBe(`Content API calls go to ${fake.baseUrl} (TWILIO_API_BASE_URL).`);
    expect(fake.requests.length).toBeGreaterThan(13);
    for (const r of fake.requests) {
      expect(`${r.method} ${r.path}`).toMatch(/^POST \/twilio\/v1\/Content(\/HX[0-9a-f]{32}\/ApprovalRequests\/whatsapp)?$/);
      expect(r.auth).toEqual({ username: fake.accountSid, password: fake.authToken });
    }
    expect(fake.requests.filter((r) => r.path.endsWith('/ApprovalRequests/whatsapp')).length).toBeGreaterThan(0);
    expect((await store.whatsappContents.list()).length).toBe(fake.contents.size);
  });
});

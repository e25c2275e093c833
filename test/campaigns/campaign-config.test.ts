import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quietUntil } from '../../src/campaigns/quiet-hours.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-campaign-config-'));
const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, TOKEN_SECRETS: 'k:0123456789abcdef0123456789abcdef', ...env });
const problems = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (err) {
    return (err as ConfigError).problems;
  }
  return [];
};

describe('campaign configuration', () => {
  it('defaults to embedded jobs, files in DATA_DIR/outbox, 21:00-08:00 quiet hours and 1 message per 24 h', () => {
    expect(load({}).campaigns).toEqual({
      worker: true,
      queuePrefix: 'inboxcart',
      outputDir: join(dataDir, 'outbox'),
      chunkSize: 500,
      concurrency: 2,
      sendConcurrency: 8,
      leaseMs: 30_000,
      perSecond: { whatsapp: 80 },
      quietHours: { start: 21, end: 8 },
      frequencyCap: { messages: 1, hours: 24 },
    });
  });

  it('reads REDIS_URL, SMTP_URL, DKIM and the limits', () => {
    const key = join(dataDir, 'dkim.pem');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n');
    const c = load({
      REDIS_URL: 'redis://127.0.0.1:6379',
      SMTP_URL: 'smtp://127.0.0.1:2525',
      DKIM_DOMAIN: 'shop.example',
      DKIM_SELECTOR: 's1',
      DKIM_PRIVATE_KEY_FILE: key,
      QUIET_HOURS: 'off',
      FREQUENCY_CAP: '2/48h',
      CAMPAIGN_CHUNKS_PER_SECOND: '4',
      CAMPAIGN_EMAIL_PER_SECOND: '50',
      CAMPAIGN_WHATSAPP_PER_SECOND: '20',
      WHATSAPP_TIER: '1000',
      WORKER: 'off',
    }).campaigns;
    expect(c).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', smtpUrl: 'smtp://127.0.0.1:2525', worker: false, frequencyCap: { messages: 2, hours: 48 }, chunksPerSecond: 4, perSecond: { email: 50, whatsapp: 20 }, whatsappTier: 1000 });
    expect(c.dkim).toEqual({ domainName: 'shop.example', keySelector: 's1', privateKey: expect.stringContaining('PRIVATE KEY') });
    expect(c.quietHours).toBeUndefined();
  });

  it('names the variable that is wrong', () => {
    expect(problems({ QUIET_HOURS: '9pm-8am' })).toEqual([expect.stringMatching(/^QUIET_HOURS: /)]);
    expect(problems({ WHATSAPP_TIER: 'tier 2' })).toEqual([expect.stringMatching(/^WHATSAPP_TIER: /)]);
    expect(problems({ CAMPAIGN_EMAIL_PER_SECOND: '0' })).toEqual([expect.stringMatching(/^CAMPAIGN_EMAIL_PER_SECOND: /)]);
    expect(problems({ REDIS_URL: 'localhost:6379' })).toEqual([expect.stringMatching(/^REDIS_URL: /)]);
    expect(problems({ DKIM_DOMAIN: 'shop.example' })).toEqual([expect.stringContaining('DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE')]);
  });
});

describe('quiet hours', () => {
  const hours = { start: 21, end: 8 };
  it('ends at 08:00 in the customer\'s own timezone', () => {
    // 02:00 in Los Angeles (PST, UTC-8): quiet until 08:00 local, 16:00 UTC.
    expect(quietUntil('America/Los_Angeles', new Date('2026-11-22T10:00:00Z'), hours)?.toISOString()).toBe('2026-11-22T16:00:00.000Z');
    // 22:30 in Stockholm (CET, UTC+1): until 08:00 the next morning, 07:00 UTC.
    expect(quietUntil('Europe/Stockholm', new Date('2026-11-22T21:30:00Z'), hours)?.toISOString()).toBe('2026-11-23T07:00:00.000Z');
    expect(quietUntil('Europe/London', new Date('2026-11-22T10:00:00Z'), hours)).toBeUndefined();
    expect(quietUntil('Europe/London', new Date('2026-11-22T08:00:00Z'), hours)).toBeUndefined();
    expect(quietUntil('Europe/London', new Date('2026-11-22T21:00:00Z'), hours)?.toISOString()).toBe('2026-11-23T08:00:00.000Z');
  });
});

import { availableParallelism, tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const TOKEN_SECRETS = 'test:0123456789abcdef0123456789abcdef';
const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: tmpdir(), TOKEN_SECRETS, ...env });

/** The problems loadConfig refuses `env` with (it must refuse it). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('WORKERS', () => {
  it('defaults to 1 (no cluster), takes a count, and auto means one per CPU', () => {
    expect(load({}).workers).toBe(1);
    expect(load({ WORKERS: '3' }).workers).toBe(3);
    expect(load({ WORKERS: 'auto' }).workers).toBe(availableParallelism());
    expect(load({ WORKERS: 'AUTO' }).workers).toBe(availableParallelism());
  });

  it.each(['0', '-1', '1.5', 'two', '', '1000'])('refuses %j, naming the variable and what it takes', (value) => {
    expect(problemsOf({ WORKERS: value })).toEqual([expect.stringMatching(/^WORKERS: WORKERS is a number of worker processes \(1 to 999\) or auto/)]);
  });
});

describe('SEGMENT_VIP_MIN_SPENT_BY_CURRENCY', () => {
  it('merges CODE:AMOUNT pairs over the per-currency defaults', () => {
    expect(load({}).thresholds.vipMinSpentByCurrency).toMatchObject({ SEK: 11_000, TRY: 48_000 });
    const t = load({ SEGMENT_VIP_MIN_SPENT: '1500', SEGMENT_VIP_MIN_SPENT_BY_CURRENCY: 'sek:12000, JPY:160000' }).thresholds;
    expect(t.vipMinSpent).toBe(1500);
    expect(t.vipMinSpentByCurrency).toMatchObject({ SEK: 12_000, JPY: 160_000, TRY: 48_000 });
  });

  it.each(['SEK', 'SEK:', 'SEK:lots', 'EURO:5', 'SEK:-1'])('refuses %j, naming the currency', (value) => {
    expect(problemsOf({ SEGMENT_VIP_MIN_SPENT_BY_CURRENCY: value })).toEqual([expect.stringMatching(/^SEGMENT_\* \(vipMinSpentByCurrency\.(SEK|EURO)\): /)]);
  });
});

describe('TWILIO_API_BASE_URL', () => {
  it("is unset by default (Twilio's own hosts), and an empty value means unset", () => {
    expect(load({}).twilio.apiBaseUrl).toBeUndefined();
    expect(load({ TWILIO_API_BASE_URL: '' }).twilio.apiBaseUrl).toBeUndefined();
  });

  it('keeps a path prefix, drops a trailing slash and a default port, and says at start where Twilio calls go', () => {
    const config = load({ TWILIO_API_BASE_URL: 'https://proxy.example:443/twilio/' });
    expect(config.twilio.apiBaseUrl).toBe('https://proxy.example/twilio');
    expect(config.notices).toContain('TWILIO_API_BASE_URL is set: WhatsApp sends and the Content API go to https://proxy.example/twilio, not to Twilio.');
    expect(load({ TWILIO_API_BASE_URL: 'http://127.0.0.1:4010' }).twilio.apiBaseUrl).toBe('http://127.0.0.1:4010');
  });

  it.each([
    ['proxy.example/twilio', 'is not an absolute URL'],
    ['ftp://proxy.example', 'is not http or https'],
    ['https://user:secret@proxy.example', 'must not contain a user or password'],
    ['https://proxy.example/twilio?env=staging', 'must not have a query string or fragment'],
    ['https://proxy.example/#twilio', 'must not have a query string or fragment'],
  ])('refuses %j, naming the variable and the fix, without echoing the value', (value, why) => {
    const problems = problemsOf({ TWILIO_API_BASE_URL: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`TWILIO_API_BASE_URL: TWILIO_API_BASE_URL ${why}`)).toBe(true);
    expect(problems[0]).toMatch(/: set it to an http\(s\) URL such as https:\/\/twilio-proxy\.staging\.example\/twilio$/);
    expect(problems[0]).not.toContain(value);
  });

  it('must be https in production: every call carries the auth token', () => {
    const production = { NODE_ENV: 'production', API_KEYS: '0123456789abcdef', PUBLIC_BASE_URL: 'https://mail.example.com' };
    expect(problemsOf({ ...production, TWILIO_API_BASE_URL: 'http://twilio-stub.internal:4010' })).toEqual([
      'TWILIO_API_BASE_URL: must be https in production (every call carries the Twilio auth token)',
    ]);
    expect(load({ ...production, TWILIO_API_BASE_URL: 'https://twilio-stub.internal' }).twilio.apiBaseUrl).toBe('https://twilio-stub.internal');
  });
});

describe('WHATSAPP_REPLY_LEASE_SECONDS and WHATSAPP_REPLY_RECOVERY_SECONDS', () => {
  it('default to a 60 s lease and a pass every 30 s, and take whole seconds', () => {
    expect(load({}).whatsappReplies).toEqual({ leaseMs: 60_000, recoveryEveryMs: 30_000 });
    expect(load({ WHATSAPP_REPLY_LEASE_SECONDS: '15', WHATSAPP_REPLY_RECOVERY_SECONDS: '1' }).whatsappReplies).toEqual({ leaseMs: 15_000, recoveryEveryMs: 1_000 });
  });

  it.each(['4', '1.5', 'soon', '3601'])('refuses a lease of %j, naming the variable and its range', (value) => {
    expect(problemsOf({ WHATSAPP_REPLY_LEASE_SECONDS: value })).toEqual([
      'WHATSAPP_REPLY_LEASE_SECONDS: WHATSAPP_REPLY_LEASE_SECONDS is whole seconds from 5 to 3600: the lease must outlast the slowest send',
    ]);
  });

  it.each(['0', 'often'])('refuses a recovery pass every %j seconds', (value) => {
    expect(problemsOf({ WHATSAPP_REPLY_RECOVERY_SECONDS: value })).toEqual(['WHATSAPP_REPLY_RECOVERY_SECONDS: WHATSAPP_REPLY_RECOVERY_SECONDS is whole seconds from 1 to 3600']);
  });
});

describe('WEBHOOK_URL, WEBHOOK_SECRET and WEBHOOK_TIMEOUT_MS', () => {
  const SECRET = 'whsec_0123456789abcdef01234567';
  it('default to no webhooks and a 10 s timeout; several URLs are comma-separated, each once', () => {
    expect(load({}).webhooks).toEqual({ urls: [], timeoutMs: 10_000 });
    expect(load({ WEBHOOK_URL: 'https://erp.example/hooks, https://crm.example/in,https://erp.example/hooks', WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT_MS: '2500' }).webhooks).toEqual({
      urls: ['https://erp.example/hooks', 'https://crm.example/in'],
      secret: SECRET,
      timeoutMs: 2500,
    });
  });

  it('needs a secret with a URL, and refuses URLs it could not post to, without echoing them', () => {
    expect(problemsOf({ WEBHOOK_URL: 'https://erp.example/hooks' })).toEqual([expect.stringMatching(/^WEBHOOK_SECRET: required with WEBHOOK_URL/)]);
    expect(problemsOf({ WEBHOOK_URL: 'erp.example/hooks?key=s3cret', WEBHOOK_SECRET: SECRET })).toEqual([expect.stringMatching(/^WEBHOOK_URL: an entry is not an absolute URL/)]);
    expect(problemsOf({ WEBHOOK_URL: 'https://user:pw@erp.example/hooks', WEBHOOK_SECRET: SECRET })).toEqual([
      'WEBHOOK_URL: erp.example: a user or password in the URL is not sent; receivers verify Inboxcart-Signature instead',
    ]);
    expect(problemsOf({ WEBHOOK_URL: 'http://erp.example/hooks', WEBHOOK_SECRET: SECRET, NODE_ENV: 'production', API_KEYS: 'k'.repeat(16), PUBLIC_BASE_URL: 'https://mail.example.com' })).toEqual([
      expect.stringMatching(/^WEBHOOK_URL: http:\/\/erp\.example must be https in production/),
    ]);
    expect(problemsOf({ WEBHOOK_SECRET: 'short' })).toEqual([expect.stringMatching(/^WEBHOOK_SECRET: WEBHOOK_SECRET must be at least 24 characters/)]);
    expect(problemsOf({ WEBHOOK_TIMEOUT_MS: '50' })).toEqual(['WEBHOOK_TIMEOUT_MS: WEBHOOK_TIMEOUT_MS is whole milliseconds from 100 to 60000']);
  });
});

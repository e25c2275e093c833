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

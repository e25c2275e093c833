import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assignVariant } from '../../src/personalize/assign-variant.ts';
import { preferredSize } from '../../src/personalize/preferred-size.ts';
import { DEFAULT_THRESHOLDS, segmentThresholdsSchema } from '../../src/personalize/segment-thresholds.ts';
import { computeSegments, listSegments } from '../../src/personalize/segments.ts';
import { loadFixtures } from '../../src/validate/template-fixtures.ts';
import { FIXTURES_DIR, NOW } from '../support/render-kit.ts';

const fixtures = loadFixtures(FIXTURES_DIR);
const now = new Date(NOW);
const segmentsOf = (name: string, t = DEFAULT_THRESHOLDS) => listSegments(computeSegments(fixtures.profiles.get(name)!, t, now));

describe('segment engine on the personas', () => {
  it.each([
    ['sophie', ['vip']],
    ['rachel', ['discount_seeker', 'coast']],
    ['emre', ['new_subscriber']],
    ['ingrid', ['at_risk', 'mountains']],
    ['ayse', ['birthday_month']],
    ['lars-coast', ['coast', 'store_nearby']],
    ['minimal', []],
  ])('%s → %j', (name, expected) => {
    expect(segmentsOf(name)).toEqual(expected);
  });

  it('thresholds are configuration: at_risk after 250 days leaves Ingrid (200 days) out', () => {
    const t = segmentThresholdsSchema.parse({ atRiskDays: 250 });
    expect(segmentsOf('ingrid', t)).toEqual(['mountains']);
  });

  it('VIP spend is judged in the customer\'s currency: 9,000 lira is not VIP spend, 11,000 kronor is', () => {
    const frequent = (currency: string, totalSpent: number) =>
      computeSegments({ id: 'c', currency, consent: { email: true, whatsapp: false }, orders: { count: 9, totalSpent, lastOrderAt: '2026-11-01T10:00:00Z' } } as never, DEFAULT_THRESHOLDS, now).vip;
    expect(frequent('EUR', 1000)).toBe(true);
    expect(frequent('TRY', 9000)).toBe(false);
    expect(frequent('TRY', 48_000)).toBe(true);
    expect(frequent('SEK', 9000)).toBe(false);
    expect(frequent('SEK', 11_000)).toBe(true);
    // A currency without its own figure uses vipMinSpent.
    expect(frequent('ISK', 999)).toBe(false);
    expect(frequent('ISK', 1000)).toBe(true);
  });

  it('a VIP is never a discount seeker, whatever their promo sensitivity', () => {
    const sophie = fixtures.profiles.get('sophie')!;
    const s = computeSegments({ ...sophie, affinities: { ...sophie.affinities!, categories: [], promoSensitivity: 0.95 } }, DEFAULT_THRESHOLDS, now);
    expect(s.vip).toBe(true);
    expect(s.discount_seeker).toBe(false);
  });

  it('the birthday month follows the customer timezone (Nov 30 23:30 UTC is December in Istanbul)', () => {
    const ayse = fixtures.profiles.get('ayse')!;
    expect(computeSegments(ayse, DEFAULT_THRESHOLDS, new Date('2026-11-30T23:30:00Z')).birthday_month).toBe(false);
    expect(computeSegments({ ...ayse, timezone: 'UTC' }, DEFAULT_THRESHOLDS, new Date('2026-11-30T23:30:00Z')).birthday_month).toBe(true);
  });
});

describe('preferred size', () => {
  it('is the size bought most in the category', () => {
    expect(preferredSize(fixtures.profiles.get('ingrid')!, 'jeans')).toBe('28');
    expect(preferredSize(fixtures.profiles.get('ingrid')!, 'tops')).toBe('M');
    expect(preferredSize(fixtures.profiles.get('ingrid')!, 'shoes')).toBeUndefined();
    expect(preferredSize(fixtures.profiles.get('minimal')!, 'tops')).toBeUndefined();
  });
});

describe('A/B variant assignment', () => {
  const variants = [{ id: 'A', weight: 1 }, { id: 'B', weight: 1 }];
  it('is deterministic for the same profile and template', () => {
    expect(assignVariant('cust-1', 'recommendations', variants)).toBe(assignVariant('cust-1', 'recommendations', variants));
  });
  it('splits an audience by weight', () => {
    const counts = { A: 0, B: 0 } as Record<string, number>;
    for (let i = 0; i < 10_000; i++) counts[assignVariant(`cust-${i}`, 'recommendations', variants)!]!++;
    expect(counts.A).toBeGreaterThan(4_700);
    expect(counts.B).toBeGreaterThan(4_700);
    const skewed = { A: 0, B: 0 } as Record<string, number>;
    for (let i = 0; i < 10_000; i++) skewed[assignVariant(`cust-${i}`, 'x', [{ id: 'A', weight: 9 }, { id: 'B', weight: 1 }])!]!++;
    expect(skewed.B).toBeGreaterThan(800);
    expect(skewed.B).toBeLessThan(1_200);
  });
  it('keeps every customer in the variant they were first assigned', () => {
    // Pinned from the original implementation (the first 48 bits of SHA-256 as a Buffer): a
    // change to how the bucket is read would silently move customers of running A/B tests.
    const three = [{ id: 'A', weight: 1 }, { id: 'B', weight: 1 }, { id: 'C', weight: 2 }];
    const assigned = Array.from({ length: 1000 }, (_, i) => assignVariant(`cust-${i}`, 'recommendations', three)).join('');
    expect(assigned.slice(0, 40)).toBe('BACABCCCCCCAACCBCACCCAAACCCCCBCACCABCCBB');
    expect(createHash('sha256').update(assigned).digest('hex').slice(0, 16)).toBe('8637d779756c3783');
  });
  it('returns undefined for a template without variants', () => {
    expect(assignVariant('cust-1', 'x', [])).toBeUndefined();
  });
});

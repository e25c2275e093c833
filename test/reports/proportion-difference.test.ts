import { describe, expect, it } from 'vitest';
import { proportionDifference, Z_95 } from '../../src/reports/proportion-difference.ts';

describe('proportionDifference (normal approximation, 95%)', () => {
  it('10% of 1,000 against 8% of 1,000: −2 points, SE 0.012791, CI −4.5069 to +0.5069 points', () => {
    const d = proportionDifference({ successes: 100, trials: 1000 }, { successes: 80, trials: 1000 })!;
    // SE = √(0.1·0.9/1000 + 0.08·0.92/1000) = √0.0001636
    expect(d.difference).toBeCloseTo(-0.02, 12);
    expect(d.standardError).toBeCloseTo(Math.sqrt(0.0001636), 12);
    expect(d.standardError).toBeCloseTo(0.0127906, 6);
    expect(d.low).toBeCloseTo(-0.0450692, 6);
    expect(d.high).toBeCloseTo(0.0050692, 6);
    expect(d.reliable).toBe(true);
  });

  it('15% of 200 against 20% of 250: +5 points, CI −2.005 to +12.005 points', () => {
    const d = proportionDifference({ successes: 30, trials: 200 }, { successes: 50, trials: 250 })!;
    // SE = √(0.15·0.85/200 + 0.2·0.8/250) = √(0.0006375 + 0.00064) = √0.0012775 = 0.0357421
    expect(d.difference).toBeCloseTo(0.05, 12);
    expect(d.standardError).toBeCloseTo(0.0357421, 6);
    expect(d.low).toBeCloseTo(0.05 - Z_95 * 0.0357421, 6);
    expect(d.low).toBeCloseTo(-0.0200533, 5);
    expect(d.high).toBeCloseTo(0.1200533, 5);
  });

  it('one order from each variant of two messages: a wide interval, flagged as rough', () => {
    const d = proportionDifference({ successes: 1, trials: 2 }, { successes: 1, trials: 2 })!;
    expect(d.difference).toBe(0);
    expect(d.standardError).toBeCloseTo(0.5, 12);
    expect(d.low).toBeCloseTo(-Z_95 * 0.5, 12);
    expect(d.high).toBeCloseTo(Z_95 * 0.5, 12);
    expect(d.reliable).toBe(false);
  });

  it('no rate without trials', () => {
    expect(proportionDifference({ successes: 0, trials: 0 }, { successes: 1, trials: 10 })).toBeUndefined();
  });
});

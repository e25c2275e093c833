/**
 * The difference between two conversion rates with its 95% confidence interval, by the normal
 * approximation for a difference of two independent proportions (the Wald interval):
 *
 *   p₁ = x₁ / n₁,  p₂ = x₂ / n₂,  d = p₂ − p₁
 *   SE = √( p₁(1 − p₁)/n₁ + p₂(1 − p₂)/n₂ )
 *   95% CI = d ± 1.959964 · SE
 *
 * It is the interval A/B tools report by default. It is only trustworthy with enough
 * conversions and non-conversions in each group (a rule of thumb: n·p and n·(1 − p) at least 5
 * in both); below that the report says so in `reliable`.
 *
 * @see https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval
 * @example
 * proportionDifference({ successes: 100, trials: 1000 }, { successes: 80, trials: 1000 })
 * // { difference: -0.02, standardError: 0.0127906…, low: -0.0450692…, high: 0.0050692…, reliable: true }
 */

/** The two-sided 95% quantile of the standard normal distribution. */
export const Z_95 = 1.959963984540054;

export interface Proportion {
  successes: number;
  trials: number;
}

export interface ProportionDifference {
  /** p₂ − p₁: the second group's rate minus the first's. */
  difference: number;
  standardError: number;
  low: number;
  high: number;
  /** Enough conversions and non-conversions in both groups for the normal approximation. */
  reliable: boolean;
}

/** Undefined when a group has no trials: there is no rate to compare. */
export function proportionDifference(first: Proportion, second: Proportion): ProportionDifference | undefined {
  if (first.trials <= 0 || second.trials <= 0) return undefined;
  const p1 = first.successes / first.trials;
  const p2 = second.successes / second.trials;
  const difference = p2 - p1;
  const standardError = Math.sqrt((p1 * (1 - p1)) / first.trials + (p2 * (1 - p2)) / second.trials);
  const margin = Z_95 * standardError;
  const enough = (g: Proportion) => g.successes >= 5 && g.trials - g.successes >= 5;
  return { difference, standardError, low: difference - margin, high: difference + margin, reliable: enough(first) && enough(second) };
}

import { z } from 'zod';

/**
 * The default VIP spend in currencies other than the one `vipMinSpent` (1,000) is meant in:
 * about €1,000 each (late-2026 rates, rounded). SEGMENT_VIP_MIN_SPENT_BY_CURRENCY overrides
 * them one by one; exchange rates drift, and lira fastest.
 */
export const VIP_MIN_SPENT_BY_CURRENCY: Readonly<Record<string, number>> = {
  USD: 1150,
  GBP: 870,
  CHF: 930,
  SEK: 11_000,
  NOK: 11_500,
  DKK: 7_450,
  PLN: 4_300,
  TRY: 48_000,
};

/**
 * Segment thresholds. Defaults follow common retail CRM practice; operators override them
 * through configuration (SEGMENT_* environment variables).
 */
export const segmentThresholdsSchema = z.object({
  /** Loyalty tiers that make a customer VIP on their own. */
  vipTiers: z.array(z.enum(['bronze', 'silver', 'gold', 'platinum'])).default(['gold', 'platinum']),
  /** RFM route to VIP: at least this many orders… */
  vipMinOrders: z.number().int().min(1).default(8),
  /**
   * …and at least this much spent, in the profile's currency: per currency where listed
   * (`vipMinSpentByCurrency`), otherwise `vipMinSpent`. A single figure would make 1,000 lira
   * (~€25) VIP spend.
   */
  vipMinSpent: z.number().min(0).default(1000),
  vipMinSpentByCurrency: z.record(z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as SEK'), z.number().min(0)).default(VIP_MIN_SPENT_BY_CURRENCY),
  /** …with the last order no older than this. */
  vipMaxRecencyDays: z.number().int().min(1).default(90),
  discountSeekerMinPromoSensitivity: z.number().min(0).max(1).default(0.7),
  newSubscriberDays: z.number().int().min(1).default(14),
  atRiskDays: z.number().int().min(1).default(120),
});

export type SegmentThresholds = z.infer<typeof segmentThresholdsSchema>;

export const DEFAULT_THRESHOLDS: SegmentThresholds = segmentThresholdsSchema.parse({});

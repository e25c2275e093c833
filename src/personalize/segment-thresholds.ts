import { z } from 'zod';

/**
 * Segment thresholds. Defaults follow common retail CRM practice; operators override them
 * through configuration (SEGMENT_* environment variables).
 */
export const segmentThresholdsSchema = z.object({
  /** Loyalty tiers that make a customer VIP on their own. */
  vipTiers: z.array(z.enum(['bronze', 'silver', 'gold', 'platinum'])).default(['gold', 'platinum']),
  /** RFM route to VIP: at least this many orders… */
  vipMinOrders: z.number().int().min(1).default(8),
  /** …and at least this much spent (in the profile currency)… */
  vipMinSpent: z.number().min(0).default(1000),
  /** …with the last order no older than this. */
  vipMaxRecencyDays: z.number().int().min(1).default(90),
  discountSeekerMinPromoSensitivity: z.number().min(0).max(1).default(0.7),
  newSubscriberDays: z.number().int().min(1).default(14),
  atRiskDays: z.number().int().min(1).default(120),
});

export type SegmentThresholds = z.infer<typeof segmentThresholdsSchema>;

export const DEFAULT_THRESHOLDS: SegmentThresholds = segmentThresholdsSchema.parse({});

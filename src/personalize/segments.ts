import type { Profile } from './profile-schema.ts';
import type { SegmentThresholds } from './segment-thresholds.ts';

export const SEGMENT_NAMES = [
  'vip',
  'discount_seeker',
  'new_subscriber',
  'at_risk',
  'birthday_month',
  'coast',
  'mountains',
  'store_nearby',
] as const;

export type SegmentName = (typeof SEGMENT_NAMES)[number];
export type Segments = Record<SegmentName, boolean>;

const DAY_MS = 86_400_000;

function daysSince(iso: string | undefined, now: Date): number | undefined {
  if (!iso) return undefined;
  return (now.getTime() - Date.parse(iso)) / DAY_MS;
}

const monthFormats = new Map<string, Intl.DateTimeFormat | null>();
const QUARTER_HOUR = 900_000;
let monthMemo = { bucket: -1, byZone: new Map<string, number>() };

/**
 * Month (1–12) of `now` in the customer's own timezone: a birthday month starts at their
 * midnight. Formatters are cached per zone (constructing one costs ~0.2 ms, per recipient).
 */
function monthIn(timezone: string, now: Date): number {
  // Every UTC offset is a multiple of 15 minutes, so the local month cannot change inside a
  // quarter-hour bucket: one Intl call per zone per bucket serves a whole campaign.
  const bucket = Math.floor(now.getTime() / QUARTER_HOUR);
  if (bucket !== monthMemo.bucket) monthMemo = { bucket, byZone: new Map() };
  const memo = monthMemo.byZone.get(timezone);
  if (memo !== undefined) return memo;
  const month = monthInUncached(timezone, now);
  monthMemo.byZone.set(timezone, month);
  return month;
}

function monthInUncached(timezone: string, now: Date): number {
  let f = monthFormats.get(timezone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en', { month: 'numeric', timeZone: timezone });
    } catch {
      f = null;
    }
    monthFormats.set(timezone, f);
  }
  return f ? Number(f.format(now)) : now.getUTCMonth() + 1;
}

/**
 * Derives the named segments that templates branch on. Missing data is "no evidence": a
 * profile with only an id belongs to no segment and gets the generic message.
 *
 * @example
 * computeSegments(profile, DEFAULT_THRESHOLDS, new Date()).vip // true for a gold-tier customer
 */
export function computeSegments(profile: Profile, t: SegmentThresholds, now: Date): Segments {
  const orderCount = profile.orders?.count ?? 0;
  const sinceLastOrder = daysSince(profile.orders?.lastOrderAt, now);
  const sinceSubscribed = daysSince(profile.subscribedAt, now);
  const tier = profile.loyalty?.tier ?? 'none';

  const rfmVip =
    orderCount >= t.vipMinOrders &&
    (profile.orders?.totalSpent ?? 0) >= (t.vipMinSpentByCurrency[profile.currency] ?? t.vipMinSpent) &&
    sinceLastOrder !== undefined &&
    sinceLastOrder <= t.vipMaxRecencyDays;
  const vip = (tier !== 'none' && t.vipTiers.includes(tier)) || rfmVip;

  const promo = profile.affinities?.promoSensitivity;
  const birthdayMonth = profile.birthday ? Number(profile.birthday.slice(5, 7)) : undefined;

  return {
    vip,
    // A VIP is never treated as a bargain hunter: early access replaces discounts for them.
    discount_seeker: !vip && promo !== undefined && promo >= t.discountSeekerMinPromoSensitivity,
    new_subscriber: orderCount === 0 && sinceSubscribed !== undefined && sinceSubscribed <= t.newSubscriberDays,
    at_risk: orderCount > 0 && sinceLastOrder !== undefined && sinceLastOrder >= t.atRiskDays,
    birthday_month: birthdayMonth !== undefined && birthdayMonth === monthIn(profile.timezone, now),
    coast: profile.location?.region === 'coast',
    mountains: profile.location?.region === 'mountains',
    store_nearby: Boolean(profile.location?.nearStore),
  };
}

/** The segment names that apply, in the fixed order of SEGMENT_NAMES (stable for responses and tests). */
export function listSegments(segments: Segments): SegmentName[] {
  return SEGMENT_NAMES.filter((name) => segments[name]);
}

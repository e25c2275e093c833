import { formatDate } from '../shared/format.ts';
import type { Recommendations } from './recommendations-schema.ts';
import type { SegmentName, Segments } from './segments.ts';

export interface OfferView {
  code?: string;
  percentOff?: number;
  expiresAt?: string;
  expiresText?: string;
  /** Whole hours left, for "ends in 47 hours" copy. */
  hoursLeft?: number;
}

/** What the offer policy reads of the template (its manifest). */
export interface OfferTemplate {
  name: string;
  category: 'marketing' | 'transactional';
  /** Segments the template reserves its offer for (win-back for the lapsed, welcome for new subscribers). */
  offerFor?: readonly SegmentName[];
}

/**
 * The offer a customer is entitled to, with the reason in `warnings` when the campaign's is
 * withheld. VIPs get early access and full price: the discount is withheld even when the
 * campaign carries one. A template may also reserve its offer for segments, and an offer that
 * has expired is no offer: both are withheld, and said.
 */
export function offerFor(
  rawOffer: Recommendations['offer'] | undefined,
  template: OfferTemplate,
  segments: Segments,
  at: { now: Date; intlLocale: string; timezone: string },
  warnings: string[],
): OfferView | undefined {
  const reservedFor = template.offerFor;
  const expired = rawOffer?.expiresAt !== undefined && Date.parse(rawOffer.expiresAt) <= at.now.getTime();
  const forThisCustomer = !reservedFor || reservedFor.some((name) => segments[name]);
  const offerApplies = Boolean(rawOffer?.percentOff) && !segments.vip && template.category === 'marketing' && forThisCustomer && !expired;
  if (rawOffer?.percentOff && segments.vip) warnings.push('offer withheld: VIP customers get early access, not discounts');
  else if (rawOffer?.percentOff && !forThisCustomer) warnings.push(`offer withheld: template '${template.name}' reserves it for ${reservedFor!.join(', ')}`);
  else if (rawOffer?.percentOff && expired) warnings.push('offer withheld: it expired before this render');
  return rawOffer && (offerApplies || (!rawOffer.percentOff && !segments.vip))
    ? {
        code: rawOffer.code,
        percentOff: rawOffer.percentOff,
        expiresAt: rawOffer.expiresAt,
        expiresText: rawOffer.expiresAt ? formatDate(rawOffer.expiresAt, at.intlLocale, at.timezone, 'datetime') : undefined,
        // Rounded up: with 30 minutes left the offer has "1 hour" left, not "ended".
        hoursLeft: rawOffer.expiresAt ? Math.max(0, Math.ceil((Date.parse(rawOffer.expiresAt) - at.now.getTime()) / 3_600_000)) : undefined,
      }
    : undefined;
}

/**
 * `!15!1764633599`: percent off and expiry (epoch seconds, empty when open-ended). `!` cannot
 * occur in message ids (render-input.ts), so payload parsers split on it unambiguously.
 */
export function offerTag(offer: OfferView | undefined): string {
  if (!offer?.percentOff) return '';
  return `!${offer.percentOff}!${offer.expiresAt ? Math.floor(Date.parse(offer.expiresAt) / 1000) : ''}`;
}

import type { CampaignChannel } from '../campaigns/campaign-schema.ts';
import type { Profile } from '../personalize/profile-schema.ts';

/** The customer-service window: inside it any message may be sent, outside only an approved template. */
const WINDOW_MS = 24 * 3_600_000;

/**
 * The one channel a trigger's message goes on for this customer: WhatsApp when the
 * conversation window is open, else email, else WhatsApp's approved template, each only where
 * the customer consented, has the address and did not opt out, in the trigger's order of
 * preference. With none of them, the first channel the trigger allows: the campaign engine then
 * records why nothing was sent (no_consent, opted_out, no_phone…), which the runs show.
 *
 * @example
 * chooseChannel(rachel, { preference: ['whatsapp', 'email'], templateChannels: ['email', 'whatsapp'], optedOut: new Set(), now })
 * // 'email' when Rachel has not written on WhatsApp in the last 24 hours
 */
export function chooseChannel(
  profile: Profile,
  o: { preference: readonly CampaignChannel[]; templateChannels: readonly string[]; optedOut: ReadonlySet<string>; lastInboundAt?: string; now: Date },
): CampaignChannel {
  const allowed = o.preference.filter((c) => o.templateChannels.includes(c));
  const whatsapp = allowed.includes('whatsapp') && Boolean(profile.phone) && profile.consent.whatsapp && !o.optedOut.has('whatsapp');
  const email = allowed.includes('email') && Boolean(profile.email) && profile.consent.email && !o.optedOut.has('email');
  const inbound = [profile.whatsapp?.lastInboundAt, o.lastInboundAt].filter((v): v is string => Boolean(v)).map(Date.parse);
  const windowOpen = inbound.some((at) => o.now.getTime() - at < WINDOW_MS);
  for (const channel of allowed) {
    if (channel === 'whatsapp' && whatsapp && windowOpen) return 'whatsapp';
    if (channel === 'email' && email) return 'email';
  }
  if (whatsapp) return 'whatsapp';
  return allowed[0] ?? (o.templateChannels[0] as CampaignChannel);
}

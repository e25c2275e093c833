import type { CampaignChannel } from '../campaigns/campaign-schema.ts';
import type { Profile } from '../personalize/profile-schema.ts';
import type { Recommendations } from '../personalize/recommendations-schema.ts';
import { chooseChannel } from './choose-channel.ts';
import type { TriggerName, TriggerSettings } from './trigger-config.ts';

/**
 * What a trigger would send one profile, for the preview: the channel it would choose and the
 * picks it would show (the cause's product first, as dispatch-fire.ts builds them). Undefined
 * picks: the template's own sample picks stand in (birthday and win-back without configured
 * ones, the abandoned cart, which shows the sample cart).
 */
export function simulateTrigger(
  name: TriggerName,
  settings: TriggerSettings,
  o: { profile: Profile; templateChannels: readonly string[]; sku?: string; now: Date },
): { template: string; channel: CampaignChannel; recommendations?: Recommendations } {
  const s = settings[name];
  const channel = chooseChannel(o.profile, { preference: s.channels, templateChannels: o.templateChannels, optedOut: new Set(), now: o.now });
  const reason = name === 'price-drop' ? 'reason.priceDroppedViewed' : name === 'back-in-stock' ? 'reason.backInStock' : undefined;
  const own = reason && o.sku ? [{ sku: o.sku, reason: { key: reason } }] : [];
  const items = [...own, ...(s.recommendations ?? [])];
  return { template: s.template, channel, ...(items.length ? { recommendations: { items, ...(s.offer ? { offer: s.offer } : {}) } } : {}) };
}

import type { Logger } from 'pino';
import { storedProfile } from '../campaigns/audience.ts';
import type { CampaignChannel, CampaignSpec } from '../campaigns/campaign-schema.ts';
import type { Campaigns } from '../campaigns/campaign-service.ts';
import type { Profile } from '../personalize/profile-schema.ts';
import type { Recommendations } from '../personalize/recommendations-schema.ts';
import { chunks } from '../store/chunks.ts';
import { toCustomer } from '../store/customers-repository.ts';
import type { Store } from '../store/index.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { chooseChannel } from './choose-channel.ts';
import { fireAudience, type FireMember } from './fire-audience.ts';
import type { CustomerEventQueries } from './customer-events.ts';
import type { Purchases } from './purchases.ts';
import type { TriggerSettings } from './trigger-config.ts';
import type { Fire, TriggerFires } from './trigger-fires.ts';

const DAY_MS = 86_400_000;

export interface DispatchDeps {
  store: Pick<Store, 'db' | 'consents'>;
  campaigns: Pick<Campaigns, 'create'>;
  templates: TemplateSet;
  fires: TriggerFires;
  events: CustomerEventQueries;
  purchases: Purchases;
  now: () => Date;
  logger: Pick<Logger, 'error' | 'warn'>;
}

/** The campaign of a fire on one channel: `trg.<fire id>.<channel>`, the same however often the fire is dispatched. */
export function fireCampaignId(fire: Pick<Fire, 'id'>, channel: CampaignChannel): string {
  return `trg.${fire.id}.${channel}`;
}

/**
 * Turns a pending fire into campaigns, one per channel its customers were given
 * (choose-channel.ts), so every message goes through the campaign engine's delivery path:
 * one delivery record per customer and channel, consent and suppressions, quiet hours, caps.
 * A fire dispatched twice (its process died before marking it) finds its campaigns by id.
 */
export async function dispatchFire(fire: Fire, settings: TriggerSettings, deps: DispatchDeps): Promise<void> {
  const s = settings[fire.trigger];
  const compiled = deps.templates.templates.get(s.template);
  const members = await fireAudience(fire, { db: deps.store.db, events: deps.events, purchases: deps.purchases });
  if (!compiled || members.length === 0) {
    if (!compiled) deps.logger.error({ trigger: fire.trigger, template: s.template }, `trigger '${fire.trigger}' names template '${s.template}', which did not compile or does not exist; the fire notifies nobody`);
    await deps.fires.markDispatched(fire.id, [], 0, deps.now());
    return;
  }
  const now = deps.now();
  const byChannel = new Map<CampaignChannel, Profile[]>();
  for (const { member, profile, lastInboundAt } of await profilesOf(members, deps)) {
    const optedOut = await deps.store.consents.optedOutChannels(profile.id);
    const channel = chooseChannel(profile, { preference: s.channels, templateChannels: compiled.manifest.channels, optedOut, ...(lastInboundAt ? { lastInboundAt } : {}), now });
    const list = byChannel.get(channel) ?? [];
    list.push(member.cart ? { ...profile, cart: member.cart } : profile);
    byChannel.set(channel, list);
  }
  const campaignIds: string[] = [];
  let recipients = 0;
  for (const [channel, profiles] of byChannel) {
    const id = fireCampaignId(fire, channel);
    const spec: CampaignSpec = {
      id,
      template: s.template,
      audience: { recipients: profiles },
      channels: [channel],
      recommendations: recommendationsFor(fire, s, now),
    };
    const result = await deps.campaigns.create(spec);
    // `conflict`: made by an earlier dispatch from profiles that have changed since; it stands.
    if (result.kind === 'invalid') {
      deps.logger.error({ trigger: fire.trigger, fire: fire.id, problems: result.problems }, `trigger '${fire.trigger}' could not start its campaign`);
      continue;
    }
    campaignIds.push(id);
    recipients += profiles.length;
  }
  await deps.fires.markDispatched(fire.id, campaignIds, recipients, deps.now());
}

/** The stored profiles of the members, in member order; customers not registered (PUT /v1/customers) cannot be reached and are left out. */
async function profilesOf(members: readonly FireMember[], deps: DispatchDeps): Promise<{ member: FireMember; profile: Profile; lastInboundAt?: string }[]> {
  const found = new Map<string, { profile: Profile; lastInboundAt?: string }>();
  for (const slice of chunks(members.map((m) => m.customerId), 500)) {
    for (const row of await deps.store.db.selectFrom('customers').selectAll().where('id', 'in', slice).execute()) {
      const customer = toCustomer(row);
      const profile = storedProfile(customer);
      if (profile) found.set(customer.id, { profile, ...(customer.lastInboundAt ? { lastInboundAt: customer.lastInboundAt } : {}) });
    }
  }
  return members.flatMap((member) => {
    const known = found.get(member.customerId);
    return known ? [{ member, ...known }] : [];
  });
}

/** The product of the cause first (price drop, back in stock), then the trigger's own picks; its offer expiring `offerValidDays` after now. */
function recommendationsFor(fire: Fire, s: TriggerSettings[Fire['trigger']], now: Date): Recommendations {
  const own =
    fire.trigger === 'price-drop'
      ? [{ sku: String(fire.cause.sku), reason: { key: 'reason.priceDroppedViewed' } }]
      : fire.trigger === 'back-in-stock'
        ? [{ sku: String(fire.cause.sku), reason: { key: 'reason.backInStock' } }]
        : [];
  const offer = s.offer && s.offerValidDays ? { ...s.offer, expiresAt: new Date(now.getTime() + s.offerValidDays * DAY_MS).toISOString().replace(/\.\d{3}Z$/, 'Z') } : s.offer;
  return { items: [...own, ...(s.recommendations ?? [])], ...(offer ? { offer } : {}) };
}

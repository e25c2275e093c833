import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { CampaignTables } from '../campaigns/campaigns-repository.ts';
import { maskPhone } from '../shared/mask-phone.ts';
import type { Database } from '../store/database-schema.ts';
import { fromJsonText } from '../store/json-column.ts';
import type { TriggerName } from './trigger-config.ts';
import type { TriggerFires } from './trigger-fires.ts';

/** Recipients listed per run; `recipients` counts them all. */
const SHOWN_PER_RUN = 100;

export const triggerRunSchema = z.object({
  id: z.string().describe('The fire: one per cause, ever.'),
  trigger: z.string(),
  causeKey: z.string().describe('What makes the cause unique (e.g. sku|currency|since of the new price).'),
  cause: z.record(z.string(), z.unknown()).describe('Why it fired: the price and its 30-day lowest, the size restocked, the cart, the birthday, the last order.'),
  status: z.enum(['pending', 'dispatched']).describe('pending: recorded, its campaigns not made yet (they are on the next dispatch or tick).'),
  firedAt: z.string(),
  dispatchedAt: z.string().optional(),
  campaigns: z.array(z.string()).describe('Its campaigns (GET /v1/campaigns/:id), one per channel.'),
  recipients: z.number().int(),
  notified: z.array(
    z.object({
      customerId: z.string(),
      phone: z.string().optional().describe('Masked: the country prefix and the last four digits.'),
      channel: z.enum(['email', 'whatsapp']),
      status: z.string().describe('queued, delivered, deferred, suppressed or failed (the campaign delivery).'),
      reason: z.string().optional(),
    }),
  ),
});

export const triggerRunsSchema = z.object({ trigger: z.string(), runs: z.array(triggerRunSchema) });
export type TriggerRun = z.infer<typeof triggerRunSchema>;

/** GET /v1/triggers/:name/runs: each fire with its cause and, from its campaigns, who was notified on which channel and how it went. */
export async function triggerRuns(database: Kysely<Database>, fires: TriggerFires, trigger: TriggerName, limit: number): Promise<TriggerRun[]> {
  const db = database.withTables<CampaignTables>();
  const out: TriggerRun[] = [];
  for (const fire of await fires.list(trigger, limit)) {
    const notified: TriggerRun['notified'] = [];
    for (const campaignId of fire.campaignIds) {
      const campaign = await db.selectFrom('campaigns').select('spec').where('id', '=', campaignId).executeTakeFirst();
      if (!campaign) continue;
      // A fire's campaign goes on one channel (dispatch-fire.ts).
      const channel = fromJsonText<{ channels: ('email' | 'whatsapp')[] }>(campaign.spec).channels[0]!;
      const recipients = await db.selectFrom('campaign_recipients').select(['customer_id', 'profile']).where('campaign_id', '=', campaignId).orderBy('seq').limit(SHOWN_PER_RUN).execute();
      const deliveries = new Map(
        (await db.selectFrom('campaign_deliveries').select(['customer_id', 'status', 'reason']).where('campaign_id', '=', campaignId).execute()).map((d) => [d.customer_id, d]),
      );
      for (const r of recipients) {
        const phone = fromJsonText<{ phone?: string }>(r.profile).phone;
        const delivery = deliveries.get(r.customer_id);
        notified.push({
          customerId: r.customer_id,
          ...(phone ? { phone: maskPhone(phone) } : {}),
          channel,
          status: !delivery || delivery.status === 'sending' ? 'queued' : delivery.status,
          ...(delivery?.reason ? { reason: delivery.reason } : {}),
        });
      }
    }
    out.push({
      id: fire.id,
      trigger: fire.trigger,
      causeKey: fire.causeKey,
      cause: fire.cause,
      status: fire.status,
      firedAt: fire.firedAt,
      ...(fire.dispatchedAt ? { dispatchedAt: fire.dispatchedAt } : {}),
      campaigns: fire.campaignIds,
      recipients: fire.recipients,
      notified: notified.sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0)),
    });
  }
  return out;
}

import { z } from 'zod';
import { fromMinor } from '../commerce/money.ts';
import { proportionDifference } from './proportion-difference.ts';
import type { CampaignEventKind, VariantRows } from '../store/results-repository.ts';

/** Campaign ids as campaigns/campaign-schema.ts allows them. */
export const reportParamsSchema = z.object({ campaignId: z.string().regex(/^[\w.-]{1,100}$/, 'campaignId: 1–100 of letters, digits, _ . -') }).strict();

const revenueSchema = z.object({
  currency: z.string(),
  /** Decimal, as the API's amounts are (money.ts `fromMinor`). */
  amount: z.number(),
  amountMinor: z.number().int(),
  orders: z.number().int(),
});

export const variantResultSchema = z.object({
  variant: z.string().nullable().describe('The A/B variant; null for a campaign without variants.'),
  messagesRendered: z.number().int().describe('Recipients whose message the campaign engine rendered (one message id covers its email and WhatsApp parts).'),
  opens: z.number().int().describe('Fetches of /amp/v1/offers by the AMP email (every open of it in a client that renders AMP).'),
  uniqueOpens: z.number().int().describe('Messages opened at least once.'),
  clicks: z.number().int().describe('Tracked product links followed (/c/<token>).'),
  uniqueClicks: z.number().int().describe('Messages with at least one tracked click.'),
  cartAdds: z.number().int().describe('Products added to the cart from the AMP email.'),
  cartAddUnits: z.number().int(),
  orders: z.number().int().describe('Orders placed from the messages (email or WhatsApp), not cancelled or refunded.'),
  units: z.number().int(),
  revenue: z.array(revenueSchema).describe('Per currency: amounts are never converted.'),
  conversions: z.number().int().describe('Messages that led to at least one order.'),
  conversionRate: z.number().nullable().describe('conversions / messagesRendered; null before any message was rendered.'),
});

export const campaignReportSchema = z.object({
  campaignId: z.string(),
  template: z.string(),
  status: z.enum(['running', 'paused', 'cancelled', 'completed']),
  variants: z.array(variantResultSchema),
  abTest: z
    .object({
      control: z.string(),
      treatment: z.string(),
      difference: z.number().describe('Conversion rate of treatment minus control.'),
      standardError: z.number(),
      confidenceLevel: z.literal(0.95),
      low: z.number(),
      high: z.number(),
      reliable: z.boolean().describe('False when a variant has fewer than 5 conversions or non-conversions: the normal approximation is then rough.'),
      method: z.string(),
    })
    .nullable()
    .describe('With exactly two variants, each with rendered messages: the difference in conversion rate and its 95% confidence interval.'),
});

export type VariantResult = z.infer<typeof variantResultSchema>;
export type CampaignReport = z.infer<typeof campaignReportSchema>;

const METHOD = 'normal approximation (Wald): d = p2 - p1, CI = d ± 1.96·√(p1(1-p1)/n1 + p2(1-p2)/n2)';

/**
 * The report from the stored counts. `variants` is the campaign's list (its spec, else the
 * template's); a variant met in the rows but not in it (the template changed) is listed after.
 */
export function buildCampaignReport(campaign: { id: string; template: string; status: CampaignReport['status'] }, variants: readonly string[], rows: VariantRows): CampaignReport {
  const names: (string | null)[] = variants.length ? [...variants] : [null];
  for (const map of [rows.rendered, rows.events, rows.orders]) for (const v of map.keys()) if (!names.includes(v)) names.push(v);
  const results = names.map((v) => variantResult(v, rows));
  let abTest: CampaignReport['abTest'] = null;
  const [a, b] = results;
  if (results.length === 2 && a?.variant && b?.variant) {
    const d = proportionDifference({ successes: a.conversions, trials: a.messagesRendered }, { successes: b.conversions, trials: b.messagesRendered });
    if (d) abTest = { control: a.variant, treatment: b.variant, difference: d.difference, standardError: d.standardError, confidenceLevel: 0.95, low: d.low, high: d.high, reliable: d.reliable, method: METHOD };
  }
  return { campaignId: campaign.id, template: campaign.template, status: campaign.status, variants: results, abTest };
}

function variantResult(variant: string | null, rows: VariantRows): VariantResult {
  const rendered = rows.rendered.get(variant) ?? 0;
  const events = rows.events.get(variant);
  const ev = (kind: CampaignEventKind) => events?.get(kind) ?? { n: 0, messages: 0, quantity: 0 };
  const orders = rows.orders.get(variant);
  const revenue = [...(orders?.byCurrency ?? new Map<string, { orders: number; revenueMinor: number }>())]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([currency, r]) => ({ currency, amount: fromMinor(r.revenueMinor, currency), amountMinor: r.revenueMinor, orders: r.orders }));
  const conversions = orders?.converted ?? 0;
  return {
    variant,
    messagesRendered: rendered,
    opens: ev('open').n,
    uniqueOpens: ev('open').messages,
    clicks: ev('click').n,
    uniqueClicks: ev('click').messages,
    cartAdds: ev('cart_add').n,
    cartAddUnits: ev('cart_add').quantity,
    orders: revenue.reduce((sum, r) => sum + r.orders, 0),
    units: orders?.units ?? 0,
    revenue,
    conversions,
    conversionRate: rendered > 0 ? conversions / rendered : null,
  };
}

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './database-schema.ts';
import { isoNow, type Clock } from './timestamps.ts';

/** Row types of migrations/0009_campaign_results.ts. */
export type ResultsTables = {
  campaign_renders: { message_id: string; campaign_id: string; customer_id: string; variant: string | null; template: string; rendered_at: string };
  campaign_events: {
    id: string;
    kind: string;
    campaign_id: string;
    message_id: string;
    variant: string | null;
    customer_id: string;
    channel: string;
    sku: string | null;
    quantity: number | null;
    created_at: string;
  };
};

export const CAMPAIGN_EVENT_KINDS = ['open', 'click', 'cart_add'] as const;
export type CampaignEventKind = (typeof CAMPAIGN_EVENT_KINDS)[number];

/** Who did it with which message: the claims of the signed token the customer's client sent back. */
export interface MessageRef {
  campaignId: string;
  messageId: string;
  variant?: string;
  customerId: string;
}

export interface CampaignEventInput extends MessageRef {
  kind: CampaignEventKind;
  channel: 'email' | 'whatsapp';
  sku?: string;
  quantity?: number;
}

/** Counts of one variant (`null`: the campaign has no A/B test) as the store has them. */
export interface VariantRows {
  rendered: Map<string | null, number>;
  /** Per variant and event kind: rows, distinct messages, and units (cart adds). */
  events: Map<string | null, Map<CampaignEventKind, { n: number; messages: number; quantity: number }>>;
  /** Orders that were not cancelled or refunded, per variant and currency. */
  orders: Map<string | null, { converted: number; units: number; byCurrency: Map<string, { orders: number; revenueMinor: number }> }>;
}

export type ResultsRepository = ReturnType<typeof createResultsRepository>;

/** Orders that no longer count as sales (shop/order-status.ts). */
const NOT_SALES = ['cancelled', 'refunded'];

/** PostgreSQL answers count() and sum() as bigint text; SQLite as numbers. */
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export function createResultsRepository(database: Kysely<Database>, clock: Clock) {
  const db = database.withTables<ResultsTables>();

  function orderRows(campaignId: string) {
    return db
      .selectFrom('orders')
      .innerJoin('campaign_renders', 'campaign_renders.message_id', 'orders.message_id')
      .where('campaign_renders.campaign_id', '=', campaignId)
      .where('orders.status', 'not in', NOT_SALES);
  }

  return {
    /** Records a message the campaign engine rendered; a message rendered again keeps its first row. */
    async recordRender(r: MessageRef & { template: string }): Promise<void> {
      await db
        .insertInto('campaign_renders')
        .values({ message_id: r.messageId, campaign_id: r.campaignId, customer_id: r.customerId, variant: r.variant ?? null, template: r.template, rendered_at: isoNow(clock) })
        .onConflict((oc) => oc.column('message_id').doNothing())
        .execute();
    },

    async recordEvent(e: CampaignEventInput): Promise<void> {
      await db
        .insertInto('campaign_events')
        .values({
          id: randomUUID(),
          kind: e.kind,
          campaign_id: e.campaignId,
          message_id: e.messageId,
          variant: e.variant ?? null,
          customer_id: e.customerId,
          channel: e.channel,
          sku: e.sku ?? null,
          quantity: e.quantity ?? null,
          created_at: isoNow(clock),
        })
        .execute();
    },

    /** Everything the campaign report counts, grouped by variant. */
    async variantRows(campaignId: string): Promise<VariantRows> {
      const [rendered, events, orders, converted, units] = await Promise.all([
        db.selectFrom('campaign_renders').select((eb) => ['variant', eb.fn.countAll().as('n')]).where('campaign_id', '=', campaignId).groupBy('variant').execute(),
        db
          .selectFrom('campaign_events')
          .select((eb) => ['variant', 'kind', eb.fn.countAll().as('n'), eb.fn.count('message_id').distinct().as('messages'), eb.fn.sum('quantity').as('quantity')])
          .where('campaign_id', '=', campaignId)
          .groupBy(['variant', 'kind'])
          .execute(),
        orderRows(campaignId)
          .select((eb) => ['campaign_renders.variant as variant', 'orders.currency as currency', eb.fn.countAll().as('orders'), eb.fn.sum('orders.total_minor').as('revenue')])
          .groupBy(['campaign_renders.variant', 'orders.currency'])
          .execute(),
        orderRows(campaignId)
          .select((eb) => ['campaign_renders.variant as variant', eb.fn.count('orders.message_id').distinct().as('converted')])
          .groupBy('campaign_renders.variant')
          .execute(),
        orderRows(campaignId)
          .innerJoin('order_lines', 'order_lines.order_id', 'orders.id')
          .select((eb) => ['campaign_renders.variant as variant', eb.fn.sum('order_lines.quantity').as('units')])
          .groupBy('campaign_renders.variant')
          .execute(),
      ]);
      const out: VariantRows = { rendered: new Map(), events: new Map(), orders: new Map() };
      for (const r of rendered) out.rendered.set(r.variant, num(r.n));
      for (const e of events) {
        const byKind = out.events.get(e.variant) ?? new Map();
        byKind.set(e.kind as CampaignEventKind, { n: num(e.n), messages: num(e.messages), quantity: num(e.quantity) });
        out.events.set(e.variant, byKind);
      }
      const ordersOf = (variant: string | null) => {
        let o = out.orders.get(variant);
        if (!o) {
          o = { converted: 0, units: 0, byCurrency: new Map() };
          out.orders.set(variant, o);
        }
        return o;
      };
      for (const o of orders) ordersOf(o.variant).byCurrency.set(o.currency, { orders: num(o.orders), revenueMinor: num(o.revenue) });
      for (const c of converted) ordersOf(c.variant).converted = num(c.converted);
      for (const u of units) ordersOf(u.variant).units = num(u.units);
      return out;
    },
  };
}

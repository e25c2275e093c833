import { z } from 'zod';
import type { JsonObject } from '../store/json-column.ts';
import type { Repositories } from '../store/open-store.ts';
import type { Order, OrderStatusChange } from '../store/orders-repository.ts';
import type { PreferenceValue } from '../store/customers-repository.ts';
import type { WebhookEvent, WebhookEventType } from '../store/webhooks-repository.ts';
import { orderView, orderViewSchema, statusChangeSchema } from './order-view.ts';

/**
 * The events the shop hears (shared/DESIGN.md, "The loop with the shop"): one schema per event
 * type for its `data`, used to write it here and to document it (OpenAPI `webhooks`). Each is
 * written with `tx`, the transaction of the change it reports (transactional outbox), so an
 * event exists exactly when its change committed.
 */
const preferenceValue = z.union([z.string(), z.array(z.string())]);

export const SHOP_EVENT_DATA = {
  'order.created': z.object({ order: orderViewSchema }).strict(),
  'order.status_changed': z.object({ order: orderViewSchema, change: statusChangeSchema }).strict(),
  'customer.email_unsubscribed': z
    .object({
      customerId: z.string(),
      channel: z.literal('email'),
      source: z.string().describe('email:one-click (RFC 8058 POST) or email:unsubscribe-page.'),
      campaignId: z.string().optional().describe('The campaign of the email whose link was used.'),
    })
    .strict(),
  'customer.whatsapp_opted_out': z
    .object({ customerId: z.string(), channel: z.literal('whatsapp'), source: z.string().describe('whatsapp:STOP (the word typed) or whatsapp:button.') })
    .strict(),
  'customer.preferences_updated': z
    .object({
      customerId: z.string(),
      source: z.string().describe('amp:<template>: the in-email quiz or survey that was answered.'),
      template: z.string(),
      campaignId: z.string().optional(),
      messageId: z.string().optional(),
      answers: z.record(z.string(), preferenceValue).describe('What this submission answered.'),
      preferences: z.record(z.string(), preferenceValue).describe('All the preferences now stored for the customer.'),
    })
    .strict(),
} as const satisfies Record<WebhookEventType, z.ZodType>;

type Data<T extends WebhookEventType> = z.input<(typeof SHOP_EVENT_DATA)[T]>;
type Outbox = Pick<Repositories, 'webhooks'>;

function record<T extends WebhookEventType>(tx: Outbox, type: T, data: Data<T>, keys: { customerId: string; orderId?: string }): Promise<WebhookEvent> {
  return tx.webhooks.record({ type, data: data as unknown as JsonObject, ...keys });
}

/** A new order (either channel), written by the checkout in the order's transaction. */
export function recordOrderCreated(tx: Outbox, order: Order): Promise<WebhookEvent> {
  return record(tx, 'order.created', { order: orderView(order, []) }, { customerId: order.customerId, orderId: order.id });
}

/** A status change the shop made, with the order as it is after it. */
export function recordOrderStatusChanged(tx: Outbox, order: Order, history: readonly OrderStatusChange[], change: OrderStatusChange): Promise<WebhookEvent> {
  return record(tx, 'order.status_changed', { order: orderView(order, history), change: { ...change } }, { customerId: order.customerId, orderId: order.id });
}

export function recordEmailUnsubscribed(tx: Outbox, data: { customerId: string; source: string; campaignId?: string }): Promise<WebhookEvent> {
  return record(tx, 'customer.email_unsubscribed', { channel: 'email', ...data }, { customerId: data.customerId });
}

export function recordWhatsappOptedOut(tx: Outbox, data: { customerId: string; source: string }): Promise<WebhookEvent> {
  return record(tx, 'customer.whatsapp_opted_out', { channel: 'whatsapp', ...data }, { customerId: data.customerId });
}

export function recordPreferencesUpdated(
  tx: Outbox,
  data: { customerId: string; template: string; campaignId?: string; messageId?: string; answers: Record<string, PreferenceValue>; preferences: Record<string, PreferenceValue> },
): Promise<WebhookEvent> {
  const { campaignId, messageId, ...rest } = data;
  return record(
    tx,
    'customer.preferences_updated',
    { ...rest, source: `amp:${data.template}`, ...(campaignId === undefined ? {} : { campaignId }), ...(messageId === undefined ? {} : { messageId }) },
    { customerId: data.customerId },
  );
}

import { z } from 'zod';
import { dataText } from '../shared/data-text.ts';

/**
 * What the shop tells inboxcart its customers did (POST /v1/events), one schema per type. Every
 * event names its customer, when it happened and an id of the sender's: the same id sent again
 * is the same event (a retry), stored once.
 */
const sku = dataText().trim().min(1).max(128);
const size = dataText().trim().min(1).max(32);
const line = z.object({ sku, size: size.optional(), quantity: z.number().int().min(1).max(10_000).default(1) }).strict();

const base = {
  id: z.string().regex(/^[\w.:-]{1,128}$/, 'event id: 1–128 of letters, digits, _ . : -'),
  customerId: z.string().min(1).max(128),
  occurredAt: z.iso.datetime({ offset: true }).describe('When it happened (ISO 8601). Trigger windows are measured from it.'),
};

export const customerEventSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('product_viewed'), sku, size: size.optional() }).strict(),
  z.object({ ...base, type: z.literal('wishlist_added'), sku, size: size.optional() }).strict(),
  z
    .object({ ...base, type: z.literal('back_in_stock_requested'), sku, size: size.describe('The size the customer waits for: only its restock notifies them.') })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('cart_updated'),
      items: z.array(line).max(100).describe('The whole cart after the change; [] when it was emptied.'),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('order_placed'),
      orderId: z.string().min(1).max(128).optional(),
      items: z.array(line).min(1).max(200).describe('What was bought: ends the cart reminder and the price-drop alert for these products.'),
    })
    .strict(),
]);

export type CustomerEvent = z.infer<typeof customerEventSchema>;
export type CustomerEventType = CustomerEvent['type'];
export const CUSTOMER_EVENT_TYPES = customerEventSchema.options.map((o) => o.shape.type.value) as CustomerEventType[];

/** One line of an NDJSON upload or the items of a JSON array: at most this many events per request. */
export const MAX_EVENTS_PER_REQUEST = 1_000;

export const eventsAnswerSchema = z.object({
  accepted: z.number().int().describe('Events in the request; each is stored once, however often it is sent.'),
  events: z.array(z.object({ id: z.string(), type: z.string(), customerId: z.string() })),
});

import { z } from 'zod';
import { fromMinor } from '../commerce/money.ts';
import { ORDER_STATUSES, type Order, type OrderStatusChange } from '../store/orders-repository.ts';

/**
 * An order as the shop's order system sees it: in `GET /v1/orders`, `GET /v1/orders/:id`, the
 * answer of a status change and the `order.*` webhook events alike, so a receiver and a poller
 * read the same document. Money is in minor units (`totalMinor`) and, for convenience, in major
 * units of the currency (`total`); the idempotency key and the payment token stay inside.
 */
const statusSchema = z.enum(ORDER_STATUSES);

export const statusChangeSchema = z
  .object({
    from: statusSchema,
    to: statusSchema,
    carrier: z.string().optional(),
    trackingUrl: z.string().optional(),
    reason: z.string().optional(),
    at: z.string().describe('ISO 8601 UTC.'),
  })
  .strict();

export const orderViewSchema = z
  .object({
    id: z.string(),
    number: z.string().describe('What the customer quotes: IC-7K3M9Q2D.'),
    status: statusSchema.describe('placed: a saved payment method is on file; awaiting_payment: the customer pays through paymentLink; the rest are set through POST /v1/orders/{id}/status.'),
    channel: z.enum(['email', 'whatsapp', 'api']),
    customerId: z.string(),
    campaignId: z.string().optional().describe('Attribution: the campaign of the message the order came from.'),
    messageId: z.string().optional().describe('Attribution: the rendered message (POST /v1/render `id`) the order came from.'),
    template: z.string().optional(),
    locale: z.string().optional(),
    currency: z.string(),
    totalMinor: z.int(),
    total: z.number(),
    lines: z.array(
      z.object({ sku: z.string(), size: z.string(), quantity: z.int(), title: z.string(), unitPriceMinor: z.int(), unitPrice: z.number() }).strict(),
    ),
    shippingAddress: z
      .object({ name: z.string(), line1: z.string(), line2: z.string().optional(), city: z.string(), postalCode: z.string(), country: z.string() })
      .strict(),
    paymentLink: z.string().optional().describe('While awaiting_payment: where the customer pays.'),
    fulfillment: z.object({ carrier: z.string(), trackingUrl: z.string(), fulfilledAt: z.string() }).strict().optional(),
    history: z.array(statusChangeSchema).describe('Every status change since the order was placed, oldest first.'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .strict();

export type OrderView = z.output<typeof orderViewSchema>;

/** The order view of a stored order and its status changes. */
export function orderView(order: Order, history: readonly OrderStatusChange[]): OrderView {
  return {
    id: order.id,
    number: order.number,
    status: order.status,
    channel: order.channel,
    customerId: order.customerId,
    ...(order.campaignId === undefined ? {} : { campaignId: order.campaignId }),
    ...(order.messageId === undefined ? {} : { messageId: order.messageId }),
    ...(order.template === undefined ? {} : { template: order.template }),
    ...(order.locale === undefined ? {} : { locale: order.locale }),
    currency: order.currency,
    totalMinor: order.totalMinor,
    total: fromMinor(order.totalMinor, order.currency),
    lines: order.lines.map((l) => ({ sku: l.sku, size: l.size, quantity: l.quantity, title: l.title, unitPriceMinor: l.unitPriceMinor, unitPrice: fromMinor(l.unitPriceMinor, order.currency) })),
    shippingAddress: { ...order.shippingAddress },
    ...(order.paymentLink && order.status === 'awaiting_payment' ? { paymentLink: order.paymentLink } : {}),
    ...(order.fulfillment ? { fulfillment: { ...order.fulfillment } } : {}),
    history: history.map((h) => ({ ...h })),
    createdAt: order.createdAt,
    updatedAt: history.at(-1)?.at ?? order.createdAt,
  };
}

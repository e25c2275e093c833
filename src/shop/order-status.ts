import { z } from 'zod';
import { queueOrderUpdate } from './confirmation-queue.ts';
import { carrierSchema, trackingUrlSchema } from '../commerce/shipment-schema.ts';
import type { Repositories } from '../store/open-store.ts';
import type { Order, OrderStatus, OrderStatusChange } from '../store/orders-repository.ts';
import { stockTakes } from '../store/place-order.ts';
import { isoNow } from '../store/timestamps.ts';
import { recordOrderStatusChanged } from './shop-events.ts';

/**
 * How an order's status moves once it is placed, set by the shop's order system (shared/DESIGN.md,
 * "The loop with the shop"). An order that has not shipped can be paid, shipped or cancelled;
 * a paid or shipped one can be refunded; cancelled and refunded are final.
 */
export const NEXT_STATUSES: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  awaiting_payment: ['paid', 'cancelled'],
  placed: ['paid', 'fulfilled', 'cancelled'],
  paid: ['fulfilled', 'cancelled', 'refunded'],
  fulfilled: ['refunded'],
  cancelled: [],
  refunded: [],
};

/** The statuses the shop may set; `placed` and `awaiting_payment` only come from the checkout. */
export const SETTABLE_STATUSES = ['paid', 'fulfilled', 'cancelled', 'refunded'] as const;

/** `POST /v1/orders/:id/status`. */
export const statusChangeRequestSchema = z
  .object({
    status: z.enum(SETTABLE_STATUSES, { message: `status is one of ${SETTABLE_STATUSES.join(', ')}` }),
    carrier: carrierSchema.optional().describe('With fulfilled (required): the shipping company, as the customer reads it.'),
    trackingUrl: trackingUrlSchema.optional().describe('With fulfilled (required): the https page where the customer follows the parcel.'),
    reason: z.string().trim().min(1).max(500).optional().describe('Kept in the history, e.g. why an order was cancelled.'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.status === 'fulfilled') {
      if (r.carrier === undefined) ctx.addIssue({ code: 'custom', path: ['carrier'], message: 'carrier is required with status fulfilled: the customer is told who delivers' });
      if (r.trackingUrl === undefined) ctx.addIssue({ code: 'custom', path: ['trackingUrl'], message: 'trackingUrl (https) is required with status fulfilled: the customer gets it as a link' });
      return;
    }
    for (const field of ['carrier', 'trackingUrl'] as const) {
      if (r[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} goes only with status fulfilled` });
    }
  });

export type StatusChangeRequest = z.output<typeof statusChangeRequestSchema>;

export type StatusChangeOutcome =
  /** `restocked`: the units put back (a cancelled or refunded order that had not shipped). `whatsappQueued`: the customer's update went into the queue with the change. */
  | { kind: 'changed'; order: Order; history: OrderStatusChange[]; restocked: { sku: string; size: string; quantity: number }[]; whatsappQueued: boolean }
  /** The order already has the status, as asked (a repeated request): nothing changed, no event. */
  | { kind: 'unchanged'; order: Order; history: OrderStatusChange[] }
  | { kind: 'not_found' }
  | { kind: 'invalid_transition'; order: Order; from: OrderStatus; to: OrderStatus }
  /** Fulfilled already, with another carrier or tracking URL. */
  | { kind: 'conflicting_repeat'; order: Order; field: 'carrier' | 'trackingUrl' };

/** A concurrent change won this many times in a row: give up rather than loop. */
const ATTEMPTS = 3;

/**
 * Applies a status change in one transaction: the order's status and its history, the stock a
 * cancelled order gives back, the `order.status_changed` event (transactional outbox) and, for
 * `fulfilled`, the customer's WhatsApp update all commit together or not at all. The same
 * request twice gets `unchanged` the second time, with no second event or message.
 *
 * @example
 * await changeOrderStatus({ store, now }, id, { status: 'fulfilled', carrier: 'PostNord', trackingUrl: 'https://…' })
 * // { kind: 'changed', order: { status: 'fulfilled', fulfillment: { carrier: 'PostNord', … } }, … }
 */
export async function changeOrderStatus(deps: { store: Repositories; now: () => Date }, orderId: string, request: StatusChangeRequest): Promise<StatusChangeOutcome> {
  return deps.store.transaction(async (tx) => {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const order = await tx.orders.get(orderId);
      if (!order) return { kind: 'not_found' };
      const to = request.status;
      if (order.status === to) {
        if (to === 'fulfilled' && order.fulfillment) {
          if (order.fulfillment.carrier !== request.carrier) return { kind: 'conflicting_repeat', order, field: 'carrier' };
          if (order.fulfillment.trackingUrl !== request.trackingUrl) return { kind: 'conflicting_repeat', order, field: 'trackingUrl' };
        }
        return { kind: 'unchanged', order, history: await tx.orders.statusChanges(orderId) };
      }
      if (!NEXT_STATUSES[order.status].includes(to)) return { kind: 'invalid_transition', order, from: order.status, to };

      const change: OrderStatusChange = {
        from: order.status,
        to,
        ...(request.carrier === undefined ? {} : { carrier: request.carrier }),
        ...(request.trackingUrl === undefined ? {} : { trackingUrl: request.trackingUrl }),
        ...(request.reason === undefined ? {} : { reason: request.reason }),
        at: isoNow(deps.now),
      };
      // Another change got there first (PostgreSQL: it held the row until it committed): decide again on what it left.
      if (!(await tx.orders.changeStatus(tx.db, orderId, change))) continue;

      // What never left the warehouse goes back on sale; a shipped order's goods come back through the shop's returns.
      const restocked = (to === 'cancelled' || to === 'refunded') && order.status !== 'fulfilled' ? stockTakes(order.lines) : [];
      for (const take of restocked) await tx.products.incrementStock(tx.db, take.sku, take.size, take.quantity);

      const changed = (await tx.orders.get(orderId))!;
      const history = await tx.orders.statusChanges(orderId);
      await recordOrderStatusChanged(tx, changed, history, change);
      const customer = to === 'fulfilled' ? await tx.customers.get(changed.customerId) : undefined;
      const whatsappQueued = customer !== undefined && (await queueOrderUpdate(tx, changed, customer, deps.now()));
      return { kind: 'changed', order: changed, history, restocked, whatsappQueued };
    }
    throw new Error(`order ${orderId} kept changing under ${ATTEMPTS} attempts to set it ${request.status}`);
  });
}
